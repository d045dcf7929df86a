import pg from 'pg';
import { BantayError, ErrorCode } from '../../errors.ts';

export interface SourceSnapshot {
  /** Pass to pg_dump --snapshot so the dump sees exactly what countRows sees. */
  snapshotId: string;
  serverVersion: string;
  serverMajor: number;
  /** Exact row count of every user table, "schema.table" -> rows, in the snapshot. */
  countRows(): Promise<Record<string, number>>;
  /** Ends the transaction and the connection. Safe to call twice. */
  close(): Promise<void>;
}

// Ordinary tables (and partitions) in user schemas, minus tables owned by extensions, whose
// data pg_dump does not dump: the same set of tables whose rows the dump contains.
const USER_TABLES = `
  SELECT n.nspname AS schema, c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'r'
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
   ORDER BY 1, 2`;

/**
 * Opens a REPEATABLE READ, READ ONLY transaction on the source and exports its snapshot. The
 * transaction must stay open until pg_dump has started with --snapshot (we keep it for the
 * whole dump), and the row counts run inside it, so they match the dump row for row.
 */
export async function openSourceSnapshot(url: string): Promise<SourceSnapshot> {
  const client = new pg.Client({ connectionString: url, application_name: 'bantay-snapshot', connectionTimeoutMillis: 15_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new BantayError(ErrorCode.Database, `Could not connect to the FBMS database: ${(err as Error).message}`, { cause: err });
  }
  client.on('error', () => undefined);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  };
  try {
    const version = await client.query<{ server_version: string; num: string }>(
      `SELECT current_setting('server_version') AS server_version, current_setting('server_version_num') AS num`,
    );
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const row = version.rows[0]!;
    return {
      snapshotId: snap.rows[0]!.id,
      serverVersion: row.server_version,
      serverMajor: Math.floor(Number(row.num) / 10000),
      countRows: () => countRows(client),
      close,
    };
  } catch (err) {
    await close();
    throw new BantayError(ErrorCode.Database, `Could not open a snapshot of the FBMS database: ${(err as Error).message}`, { cause: err });
  }
}

async function countRows(client: pg.Client): Promise<Record<string, number>> {
  const tables = await client.query<{ schema: string; name: string }>(USER_TABLES);
  const counts: Record<string, number> = {};
  for (const t of tables.rows) {
    const qualified = `${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.name)}`;
    const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified}`);
    counts[`${t.schema}.${t.name}`] = Number(result.rows[0]!.n);
  }
  return counts;
}
