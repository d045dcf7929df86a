import type { Manifest } from '../catalog/manifest.ts';
import { describeDatabaseUrl } from './pg/connection.ts';
import type { AdminSession } from './pg/database-admin.ts';

/** Where a database lives: its name and its server (system identifier when readable, host and port always). */
export interface DatabaseIdentity {
  database: string | undefined;
  host: string;
  port: number;
  systemIdentifier?: string;
}

/**
 * Whether a backup was taken from the database it is about to replace, with both sides named
 * for the dry run, the confirmation prompt and the Slack modal. Pure. The server is the same
 * when both system identifiers are known and equal; when either is unknown (older manifests,
 * managed servers), host and port must match. A backup that does not record its database
 * never counts as the same.
 */
export interface BackupOrigin {
  sameDatabase: boolean;
  /** "fbms on sysid 7312… (db.example:5432)". */
  backup: string;
  live: string;
  backupDatabase: string | undefined;
  liveDatabase: string;
  /** Why it is not the same, one sentence; undefined when it is. */
  reason?: string;
}

export function checkBackupOrigin(manifest: Pick<Manifest, 'id' | 'source'>, live: DatabaseIdentity & { database: string }): BackupOrigin {
  const from: DatabaseIdentity = { database: manifest.source.database, host: manifest.source.host, port: manifest.source.port ?? 5432, systemIdentifier: manifest.source.systemIdentifier };
  const base = { backup: describeIdentity(from), live: describeIdentity(live), backupDatabase: from.database, liveDatabase: live.database };
  let reason: string | undefined;
  if (from.database === undefined) reason = `${manifest.id} does not record which database it was taken from`;
  else if (from.database !== live.database) reason = `${manifest.id} is a backup of ${from.database}, not of the live database ${live.database}`;
  else if (from.systemIdentifier !== undefined && live.systemIdentifier !== undefined) {
    if (from.systemIdentifier !== live.systemIdentifier) reason = `${manifest.id} was taken on another server (system identifier ${from.systemIdentifier}, live server ${live.systemIdentifier})`;
  } else if (from.host !== live.host || from.port !== live.port) {
    reason = `${manifest.id} was taken on ${from.host}:${from.port}, the live database is on ${live.host}:${live.port} (the server's system identifier is not known on both sides)`;
  }
  return reason === undefined ? { sameDatabase: true, ...base } : { sameDatabase: false, ...base, reason };
}

export function describeIdentity(id: DatabaseIdentity): string {
  const server = `${id.host}:${id.port}`;
  return `${id.database ?? '(unknown database)'} on ${id.systemIdentifier !== undefined ? `server ${id.systemIdentifier} (${server})` : server}`;
}

/** The live database's identity: DATABASE_URL's name, host and port, and the server's identifier from an open admin session. */
export function liveIdentity(databaseUrl: string, session: Pick<AdminSession, 'server'>): DatabaseIdentity & { database: string } {
  const where = describeDatabaseUrl(databaseUrl);
  const sysid = session.server.startsWith('sysid:') ? session.server.slice('sysid:'.length) : undefined;
  return { database: where.database, host: where.host, port: where.port ?? 5432, ...(sysid !== undefined ? { systemIdentifier: sysid } : {}) };
}
