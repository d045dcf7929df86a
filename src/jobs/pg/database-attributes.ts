import type pg from 'pg';

/**
 * Database-level attributes a pg_dump of one database does not carry (it has them only with
 * --create): the owner, GRANTs on the database (e.g. REVOKE CONNECT FROM PUBLIC) and
 * `ALTER DATABASE ... SET` settings (e.g. timezone = 'Asia/Manila'). An in-place restore copies
 * them from the live database to its replacement, or the application would come back to a
 * database that behaves differently from the one it left.
 */
export async function copyDatabaseAttributes(client: pg.Client, from: string, to: string): Promise<void> {
  const { rows } = await client.query<{ oid: number; owner: string; hasAcl: boolean }>(
    `SELECT oid, pg_get_userbyid(datdba) AS owner, datacl IS NOT NULL AS "hasAcl" FROM pg_database WHERE datname = $1`,
    [from],
  );
  const source = rows[0];
  if (!source) return;
  const target = client.escapeIdentifier(to);
  await client.query(`ALTER DATABASE ${target} OWNER TO ${client.escapeIdentifier(source.owner)}`);
  if (source.hasAcl) await copyGrants(client, from, target);
  const settings = await client.query<{ setting: string }>(
    'SELECT unnest(setconfig) AS setting FROM pg_db_role_setting WHERE setdatabase = $1 AND setrole = 0',
    [source.oid],
  );
  for (const { setting } of settings.rows) {
    const eq = setting.indexOf('=');
    const name = setting.slice(0, eq);
    const values = LIST_SETTINGS.has(name.toLowerCase()) ? splitListSetting(setting.slice(eq + 1)) : [setting.slice(eq + 1)];
    await client.query(`ALTER DATABASE ${target} SET ${client.escapeIdentifier(name)} TO ${values.map((v) => client.escapeLiteral(v)).join(', ')}`);
  }
}

async function copyGrants(client: pg.Client, from: string, target: string): Promise<void> {
  const { rows } = await client.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
    `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable
       FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = $1`,
    [from],
  );
  // Start from no grants at all, as the live database's ACL is explicit; then grant exactly its entries.
  await client.query(`REVOKE ALL ON DATABASE ${target} FROM PUBLIC`);
  for (const row of rows) {
    const grantee = row.grantee === null ? 'PUBLIC' : client.escapeIdentifier(row.grantee);
    const privilege = PRIVILEGES.get(row.privilege);
    if (privilege === undefined) continue;
    await client.query(`GRANT ${privilege} ON DATABASE ${target} TO ${grantee}${row.grantable ? ' WITH GRANT OPTION' : ''}`);
  }
}

/** Only these words reach SQL: privilege names come from the catalog, not from users, but still. */
const PRIVILEGES = new Map([
  ['CONNECT', 'CONNECT'],
  ['CREATE', 'CREATE'],
  ['TEMPORARY', 'TEMPORARY'],
]);

/** Settings whose value is a list: each element must be passed as its own literal. */
const LIST_SETTINGS = new Set(['search_path', 'temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries']);

/** Splits a stored list value ("\"$user\", public") into its elements ("$user", "public"). */
export function splitListSetting(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i += 1) {
    const ch = value[i]!;
    if (ch === '"') {
      if (quoted && value[i + 1] === '"') {
        current += '"';
        i += 1;
      } else quoted = !quoted;
    } else if (ch === ',' && !quoted) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  out.push(current.trim());
  return out.filter((v) => v !== '');
}
