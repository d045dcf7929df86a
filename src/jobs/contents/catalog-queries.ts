/**
 * The one definition of "the user's objects" that backup (in the dump's snapshot) and verify
 * (in the restored copy) both read, so both sides always compare the same set: objects in
 * schemas other than pg_catalog, information_schema and pg_*, minus objects that belong to an
 * extension (pg_dump leaves those to CREATE EXTENSION, and their data is not dumped).
 */
const USER_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`;
const NOT_EXTENSION_CLASS = `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

/** Ordinary tables (partitions included), partitioned tables, sequences and materialized views. */
export const USER_RELATIONS = `
  SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relispopulated AS populated
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'S', 'm') AND ${USER_SCHEMA} AND ${NOT_EXTENSION_CLASS}
   ORDER BY 1, 2`;

/** Parent -> child edges between user tables: partitions (parent kind 'p') and legacy inheritance ('r'). */
export const TABLE_INHERITANCE = `
  SELECT pn.nspname AS "parentSchema", p.relname AS "parentName", p.relkind AS "parentKind", n.nspname AS schema, c.relname AS name
    FROM pg_inherits i
    JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
    JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE p.relkind IN ('r', 'p') AND ${USER_SCHEMA} AND ${NOT_EXTENSION_CLASS}
   ORDER BY 1, 2, 4, 5`;

export const OBJECT_COUNTS = `
  SELECT
    (SELECT count(*) FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace
      WHERE ${USER_SCHEMA}
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = f.oid AND d.deptype = 'e')) AS functions,
    (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT t.tgisinternal AND ${USER_SCHEMA} AND ${NOT_EXTENSION_CLASS}) AS triggers,
    (SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_SCHEMA} AND ${NOT_EXTENSION_CLASS}) AS indexes`;
