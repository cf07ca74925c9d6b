-- schema1.sql — turns a store made by this build back into one of schema 1, the store as it
-- was before migrations were numbered: without the columns that migrations 3 to 5 add, and
-- with meta.schema 1. (Migration 2's audit columns stay: stores of schema 1 in the field
-- mostly had them already, and the migration must cope with that.)
ALTER TABLE versions DROP COLUMN reason;
ALTER TABLE versions DROP COLUMN key_id;
ALTER TABLE versions DROP COLUMN data_type;
ALTER TABLE versions DROP COLUMN policies;
ALTER TABLE versions DROP COLUMN schema;
ALTER TABLE params DROP COLUMN key_id;
ALTER TABLE params DROP COLUMN data_type;
ALTER TABLE params DROP COLUMN policies;
ALTER TABLE params DROP COLUMN schema;
ALTER TABLE tokens DROP COLUMN route;
UPDATE meta SET v = '1' WHERE k = 'schema';
