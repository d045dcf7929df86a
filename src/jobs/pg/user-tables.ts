import type pg from 'pg';

// Ordinary tables (and partitions) in user schemas, minus tables owned by extensions, whose
// data pg_dump does not dump: the same set of tables whose rows the dump contains. Backup
// (manifest row counts) and verify/restore (counts of the restored copy) must use this one
// definition, or a verify would compare two different sets of tables.
export const USER_TABLES = `
  SELECT n.nspname AS schema, c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'r'
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
   ORDER BY 1, 2`;

/** Exact row count of every user table, "schema.table" -> rows, as the client's transaction sees them. */
export async function countUserTableRows(client: pg.Client): Promise<Record<string, number>> {
  const tables = await client.query<{ schema: string; name: string }>(USER_TABLES);
  const counts: Record<string, number> = {};
  for (const t of tables.rows) {
    const qualified = `${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.name)}`;
    const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified}`);
    counts[`${t.schema}.${t.name}`] = Number(result.rows[0]!.n);
  }
  return counts;
}
