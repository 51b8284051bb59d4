-- Parents and children (issue 15): signed aggregation manifests with one row
-- per child, and versioned assembly links (a replaced or removed link keeps
-- its removal time; links are never deleted). Units are kept as their
-- identity text (`code:KID:SERIAL`, `gs1:GTIN:SERIAL`, `sscc:DIGITS`); `text`
-- is what a verifier judges for a unit child (to re-judge it on lookups);
-- part and lot are a unit child's payload's when known, a lot child's own.
CREATE TABLE aggregations (
    id       BIGSERIAL PRIMARY KEY,
    digest   BYTEA   NOT NULL UNIQUE,
    parent   TEXT    NOT NULL,
    kid      BYTEA   NOT NULL,
    time     BIGINT  NOT NULL,
    bizstep  TEXT    NOT NULL,
    location TEXT,
    bytes    BYTEA   NOT NULL,
    recorded BIGINT  NOT NULL
);
CREATE INDEX aggregations_parent ON aggregations (parent, id);
CREATE INDEX aggregations_recorded ON aggregations (recorded);
CREATE TABLE aggregation_children (
    aggregation BIGINT NOT NULL REFERENCES aggregations (id),
    position    BIGINT  NOT NULL,
    unit        TEXT,
    text        TEXT,
    nested      BYTEA,
    part        TEXT,
    lot         TEXT,
    PRIMARY KEY (aggregation, position)
);
CREATE INDEX aggregation_children_unit ON aggregation_children (unit);
CREATE INDEX aggregation_children_nested ON aggregation_children (nested);
CREATE INDEX aggregation_children_lot ON aggregation_children (part, lot, aggregation, position);
CREATE TABLE links (
    id          BIGSERIAL PRIMARY KEY,
    parent      TEXT    NOT NULL,
    child_unit  TEXT,
    child_text  TEXT,
    part        TEXT,
    lot         TEXT,
    process     TEXT,
    at          BIGINT  NOT NULL,
    removed_at  BIGINT ,
    replaced_by BIGINT ,
    recorded    BIGINT  NOT NULL
);
CREATE INDEX links_parent ON links (parent, removed_at, id);
CREATE INDEX links_child_unit ON links (child_unit, removed_at);
CREATE INDEX links_lot ON links (part, lot, id);
CREATE INDEX links_recorded ON links (recorded);
