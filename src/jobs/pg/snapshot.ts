import pg from 'pg';
import { BantayError, ErrorCode } from '../../errors.ts';
import { readDatabaseContents, readSequences, type DatabaseContents, type SequenceState } from '../contents/read-contents.ts';
import { readSystemIdentifier } from './server-identity.ts';

export interface SourceSnapshot {
  /** Pass to pg_dump --snapshot so the dump sees exactly what countRows sees. */
  snapshotId: string;
  serverVersion: string;
  serverMajor: number;
  /** pg_control_system().system_identifier, when readable (server-identity.ts). */
  systemIdentifier: string | undefined;
  /** Rows of every user table and the rest of DatabaseContents, in the snapshot. */
  readContents(): Promise<DatabaseContents>;
  /** Sequences as of now (they ignore snapshots): read before the dump starts and after it ends. */
  readSequences(): Promise<Record<string, SequenceState>>;
  /** The connection, for reading the cluster globals in the same snapshot (globals/capture-globals.ts). */
  client: pg.Client;
  /** Ends the transaction and the connection. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens a REPEATABLE READ, READ ONLY transaction on the source and exports its snapshot. The
 * transaction must stay open until pg_dump has started with --snapshot (we keep it for the
 * whole dump), and the row counts run inside it, so they match the dump row for row.
 */
export async function openSourceSnapshot(url: string, options: { lockTimeoutMs?: number; applicationName?: string } = {}): Promise<SourceSnapshot> {
  const client = new pg.Client({ connectionString: url, application_name: options.applicationName ?? 'bantay-snapshot', connectionTimeoutMillis: 15_000 });
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
    const systemIdentifier = await readSystemIdentifier(client);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // The row counts wait for table locks no longer than BANTAY_LOCK_TIMEOUT (then fail 55P03).
    if (options.lockTimeoutMs !== undefined) await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(options.lockTimeoutMs))}`);
    const snap = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const row = version.rows[0]!;
    return {
      snapshotId: snap.rows[0]!.id,
      serverVersion: row.server_version,
      serverMajor: Math.floor(Number(row.num) / 10000),
      systemIdentifier,
      readContents: () => readDatabaseContents(client),
      readSequences: () => readSequences(client),
      client,
      close,
    };
  } catch (err) {
    await close();
    throw new BantayError(ErrorCode.Database, `Could not open a snapshot of the FBMS database: ${(err as Error).message}`, { cause: err });
  }
}
