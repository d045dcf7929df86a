import pg from 'pg';
import { BantayError, ErrorCode } from '../../errors.ts';
import { describeDatabaseUrl } from '../pg/connection.ts';

/** What IDENTIFY_SYSTEM and SHOW say over a physical replication connection. */
export interface ReplicationIdentity {
  systemIdentifier: string;
  timeline: number;
  /** The server's current WAL write position. */
  xlogpos: string;
  serverVersion: string;
  serverMajor: number;
}

/**
 * Opens a physical replication connection (what pg_basebackup and pg_receivewal use) and asks
 * the server who it is. A server that allows none (no REPLICATION role, no pg_hba
 * "replication" line, a managed provider that offers none) is reported as such, with what to
 * do, never as a generic connection failure.
 */
export async function identifyServer(url: string): Promise<ReplicationIdentity> {
  const client = new pg.Client({ connectionString: url, replication: 'true' as unknown as undefined, connectionTimeoutMillis: 15_000 } as pg.ClientConfig);
  client.on('error', () => undefined);
  try {
    await client.connect();
    const identified = await client.query<{ systemid: string; timeline: string; xlogpos: string }>('IDENTIFY_SYSTEM');
    const version = await client.query<{ server_version: string }>('SHOW server_version');
    const row = identified.rows[0]!;
    const serverVersion = version.rows[0]!.server_version.split(' ')[0]!;
    return {
      systemIdentifier: String(row.systemid),
      timeline: Number(row.timeline),
      xlogpos: String(row.xlogpos),
      serverVersion,
      serverMajor: Number.parseInt(serverVersion, 10),
    };
  } catch (err) {
    throw replicationRefused(url, err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function replicationRefused(url: string, err: unknown): BantayError {
  const who = describeDatabaseUrl(url);
  const reason = err instanceof Error ? err.message : String(err);
  const denied = /replication|pg_hba|permission|must be superuser|not permitted/i.test(reason);
  return new BantayError(
    ErrorCode.Database,
    denied
      ? `The server ${who.host} allows no replication connection for ${who.user ?? 'this user'} (${reason}). Point-in-time recovery needs a role ` +
          `WITH REPLICATION and a "replication" line in pg_hba.conf (README, "Point-in-time recovery"); until then the recovery point is the dump schedule's.`
      : `Could not open a replication connection to ${who.host}: ${reason}`,
    { cause: err },
  );
}
