-- The token scopes `service` (service and test stations) and `reports`
-- (reading reports of suspected fakes), issue 16.
ALTER TABLE tokens DROP CONSTRAINT IF EXISTS tokens_scope_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_scope_check
    CHECK (scope IN ('status', 'batches', 'scans', 'service', 'reports'));
