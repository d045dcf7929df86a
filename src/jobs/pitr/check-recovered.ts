import pg from 'pg';
import { BantayError, ErrorCode } from '../../errors.ts';
import type { RecoveredServer } from './recovery-server.ts';

/**
 * The recovered cluster must be a working primary: out of recovery, and every database that
 * allows connections answers a catalog query. Resolves with their names.
 */
export async function checkRecoveredCluster(server: RecoveredServer, role: string): Promise<string[]> {
  const names = await withClient(server.url('template1'), async (c) => {
    const recovery = await c.query<{ rec: boolean }>('SELECT pg_is_in_recovery() AS rec');
    if (recovery.rows[0]!.rec) throw new BantayError(ErrorCode.Internal, 'The recovered cluster is still in recovery');
    return (await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname')).rows.map((r) => r.datname);
  });
  for (const name of names) {
    await withClient(server.url(name), (c) => c.query('SELECT count(*) FROM pg_class')).catch((err: unknown) => {
      throw new BantayError(ErrorCode.Integrity, `Database ${name} of the recovered cluster does not answer as ${role}: ${err instanceof Error ? err.message : String(err)}`);
    });
  }
  return names;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
