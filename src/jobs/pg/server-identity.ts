import type pg from 'pg';

/**
 * The server's system identifier (pg_control_system()), the one name of a PostgreSQL cluster
 * that survives DNS names, ports and proxies: two databases with the same name on different
 * servers differ here. Reading it needs superuser or an explicit grant on some managed
 * services; undefined then, and callers fall back to host and port. Never call it inside a
 * transaction: a refused call would abort it.
 */
export async function readSystemIdentifier(client: pg.Client): Promise<string | undefined> {
  try {
    const { rows } = await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    return rows[0]?.id;
  } catch {
    return undefined;
  }
}
