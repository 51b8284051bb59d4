-- A parent's links in the order they were made (`links_of`: the page, the
-- lookup's components), read from an index instead of sorted: links_parent
-- orders by removed_at first, and SQLite kept each sort with its LIMIT in a
-- temporary b-tree, built and freed on every page view.
CREATE INDEX links_parent_id ON links (parent, id);
