-- The keys that registered a lot of a part (`graph::lot_recalled`, asked for
-- each component lot a page or lookup lists): read from an index instead of
-- a scan of every batch (batches_labels leads with the key).
CREATE INDEX batches_part_lot ON batches (part, lot, kid);
