-- A random id made once per database: the ISR cache's second level keeps
-- pages under it (with the build's), so a database made afresh (a deleted
-- SQLite file, a new PostgreSQL database) never gets pages rendered from the
-- old one. One row, written by the first instance that starts (see
-- `db::data_id`).
CREATE TABLE data_id (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    id TEXT NOT NULL
);
