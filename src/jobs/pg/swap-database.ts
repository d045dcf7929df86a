import type pg from 'pg';
import { BantayError, ErrorCode } from '../../errors.ts';
import { forgetClosed, recordClosed } from '../../state/scratch-registry.ts';
import type { Queryable } from '../../state/state-db.ts';
import { databaseInfo, runAtomically, setAllowConnections, terminateConnections, type AdminSession } from './database-admin.ts';

export interface SwapNames {
  /** The name the application connects to. */
  live: string;
  /** The restored, verified database that takes the live name. */
  incoming: string;
  /** The name the previous live database keeps afterwards. */
  keepAs: string;
}

const OBJECT_IN_USE = '55006';
const ATTEMPTS = 3;

/**
 * Closes the live database to new connections and ends the sessions on both databases. The
 * closing is committed on its own (it must be visible to new backends before we terminate),
 * so a crash after this leaves the old database complete under the live name but closed; it
 * is recorded in the state database first (with its oid), and cleanupLeftovers() reopens
 * exactly the databases so recorded, never one it merely finds closed.
 */
export async function closeForSwap(session: AdminSession, state: Queryable, names: SwapNames, kind: 'in-place' | 'replace'): Promise<number> {
  const { client } = session;
  const { rows } = await client.query<{ oid: number; open: boolean }>('SELECT oid, datallowconn AS open FROM pg_database WHERE datname = $1', [names.live]);
  if (rows[0] === undefined) throw new BantayError(ErrorCode.NotFound, `Database ${names.live} does not exist`);
  // A database someone else had closed already is not ours to reopen later.
  if (rows[0].open) await recordClosed(state, { server: session.server, name: names.live, oid: Number(rows[0].oid), scratch: names.incoming, kind });
  await setAllowConnections(client, names.live, false);
  await setAllowConnections(client, names.incoming, false);
  return terminateConnections(client, [names.live, names.incoming]);
}

/**
 * Renames live -> keepAs and incoming -> live in one transaction (runAtomically): after any crash the
 * live name holds either the old or the new database, never neither. The new live database is
 * opened to connections and its marker comment replaced by the old one's in the same commit.
 * A session that sneaks in before the renames makes PostgreSQL refuse them ("being accessed by
 * other users"); the transaction then changes nothing and we terminate and retry.
 */
export async function swapDatabases(client: pg.Client, names: SwapNames): Promise<void> {
  const old = await databaseInfo(client, names.live);
  if (!old) throw new BantayError(ErrorCode.NotFound, `Database ${names.live} does not exist`);
  const id = (n: string) => client.escapeIdentifier(n);
  const comment = old.comment === null ? 'NULL' : client.escapeLiteral(old.comment);
  const statements = [
    `ALTER DATABASE ${id(names.live)} RENAME TO ${id(names.keepAs)}`,
    `ALTER DATABASE ${id(names.incoming)} RENAME TO ${id(names.live)}`,
    `ALTER DATABASE ${id(names.live)} WITH ALLOW_CONNECTIONS true`,
    `ALTER DATABASE ${id(names.keepAs)} WITH ALLOW_CONNECTIONS true`,
    `COMMENT ON DATABASE ${id(names.live)} IS ${comment}`,
  ];
  for (let attempt = 1; ; attempt += 1) {
    try {
      await runAtomically(client, statements);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== OBJECT_IN_USE || attempt >= ATTEMPTS) {
        throw new BantayError(ErrorCode.Database, `Could not swap ${names.incoming} into place as ${names.live}: ${(err as Error).message}`, { cause: err });
      }
      await terminateConnections(client, [names.live, names.incoming]);
    }
  }
}

/** After a failed or abandoned swap: the live database must accept connections again. */
export async function reopenLive(session: AdminSession, state: Queryable, live: string): Promise<void> {
  const info = await databaseInfo(session.client, live);
  if (info && !info.allowConnections) await setAllowConnections(session.client, live, true);
  await forgetClosed(state, session.server, live);
}

/** After a committed swap: the closed database is open again (swapDatabases did it); forget the record. */
export async function forgetSwapClosed(session: AdminSession, state: Queryable, live: string): Promise<void> {
  await forgetClosed(state, session.server, live);
}
