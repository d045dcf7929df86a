import type pg from 'pg';
import type { DatabaseAttributes } from '../globals/globals-format.ts';

/**
 * Database-level attributes a pg_dump of one database does not carry (it has them only with
 * --create): the owner, GRANTs on the database (e.g. REVOKE CONNECT FROM PUBLIC),
 * `ALTER DATABASE ... SET` settings (e.g. timezone = 'Asia/Manila'), `ALTER ROLE ... IN
 * DATABASE ... SET` settings, the comment and the connection limit. An in-place restore copies
 * them from the live database to its replacement, a --target-db restore applies the ones the
 * backup captured (globals/), or the application would come back to a database that behaves
 * differently from the one it left.
 */
export async function readDatabaseAttributes(client: pg.Client, name: string): Promise<DatabaseAttributes | undefined> {
  const { rows } = await client.query<{ oid: number; owner: string; connectionLimit: number; comment: string | null; hasAcl: boolean }>(
    `SELECT oid, pg_get_userbyid(datdba) AS owner, datconnlimit AS "connectionLimit", shobj_description(oid, 'pg_database') AS comment,
            datacl IS NOT NULL AS "hasAcl"
       FROM pg_database WHERE datname = $1`,
    [name],
  );
  const db = rows[0];
  if (!db) return undefined;
  const acl = db.hasAcl
    ? (
        await client.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
          `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable
             FROM pg_database d, aclexplode(d.datacl) a WHERE d.oid = $1 ORDER BY 1 NULLS FIRST, 2`,
          [db.oid],
        )
      ).rows
    : null;
  const settings = await client.query<{ role: string | null; settings: string[] }>(
    `SELECT CASE WHEN setrole = 0 THEN NULL ELSE pg_get_userbyid(setrole) END AS role, setconfig AS settings
       FROM pg_db_role_setting WHERE setdatabase = $1 ORDER BY 1 NULLS FIRST`,
    [db.oid],
  );
  return {
    owner: db.owner,
    connectionLimit: db.connectionLimit,
    comment: db.comment,
    acl,
    settings: settings.rows.find((r) => r.role === null)?.settings ?? [],
    roleSettings: settings.rows.filter((r): r is { role: string; settings: string[] } => r.role !== null),
  };
}

export interface ApplyAttributesOptions {
  /** Set the owner and the grants (false for --no-owner restores: the connecting role owns it, default grants). */
  ownerAndGrants: boolean;
  /** Roles that exist on the target server: grants and role settings naming any other are skipped. */
  existingRoles: ReadonlySet<string>;
}

/** Applies `attrs` to database `to`; returns what had to be skipped (a grantee that does not exist…). */
export async function applyDatabaseAttributes(client: pg.Client, to: string, attrs: DatabaseAttributes, options: ApplyAttributesOptions): Promise<string[]> {
  const skipped: string[] = [];
  const target = client.escapeIdentifier(to);
  const exists = (role: string) => options.existingRoles.has(role);
  if (options.ownerAndGrants) {
    if (exists(attrs.owner)) await client.query(`ALTER DATABASE ${target} OWNER TO ${client.escapeIdentifier(attrs.owner)}`);
    else skipped.push(`owner ${attrs.owner} (no such role)`);
    if (attrs.acl !== null) skipped.push(...(await applyGrants(client, target, attrs.acl, exists)));
  }
  await client.query(`ALTER DATABASE ${target} WITH CONNECTION LIMIT ${Math.max(-1, Math.trunc(attrs.connectionLimit))}`);
  await client.query(`COMMENT ON DATABASE ${target} IS ${attrs.comment === null ? 'NULL' : client.escapeLiteral(attrs.comment)}`);
  for (const setting of attrs.settings) await client.query(`ALTER DATABASE ${target} SET ${settingClause(client, setting)}`);
  for (const { role, settings } of attrs.roleSettings) {
    if (!exists(role)) {
      skipped.push(`settings of role ${role} in this database (no such role)`);
      continue;
    }
    for (const setting of settings) await client.query(`ALTER ROLE ${client.escapeIdentifier(role)} IN DATABASE ${target} SET ${settingClause(client, setting)}`);
  }
  return skipped;
}

/** Reads `from`'s attributes and applies them to `to` (in-place restores; same server, same roles). */
export async function copyDatabaseAttributes(client: pg.Client, from: string, to: string): Promise<void> {
  const attrs = await readDatabaseAttributes(client, from);
  if (!attrs) return;
  await applyDatabaseAttributes(client, to, attrs, { ownerAndGrants: true, existingRoles: await existingRoleNames(client) });
}

export async function existingRoleNames(client: pg.Client): Promise<Set<string>> {
  return new Set((await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname));
}

async function applyGrants(client: pg.Client, target: string, acl: DatabaseAttributes['acl'] & object, exists: (role: string) => boolean): Promise<string[]> {
  const skipped: string[] = [];
  // Start from no grants at all, as the source database's ACL is explicit; then grant exactly its entries.
  await client.query(`REVOKE ALL ON DATABASE ${target} FROM PUBLIC`);
  for (const row of acl) {
    const privilege = PRIVILEGES.get(row.privilege);
    if (privilege === undefined) continue;
    if (row.grantee !== null && !exists(row.grantee)) {
      skipped.push(`${privilege} for ${row.grantee} (no such role)`);
      continue;
    }
    const grantee = row.grantee === null ? 'PUBLIC' : client.escapeIdentifier(row.grantee);
    await client.query(`GRANT ${privilege} ON DATABASE ${target} TO ${grantee}${row.grantable ? ' WITH GRANT OPTION' : ''}`);
  }
  return skipped;
}

/** "name=value" as pg_db_role_setting stores it -> `"name" TO 'v1', 'v2'`, list settings split. */
export function settingClause(client: Pick<pg.Client, 'escapeIdentifier' | 'escapeLiteral'>, setting: string): string {
  const eq = setting.indexOf('=');
  const name = setting.slice(0, eq);
  const values = LIST_SETTINGS.has(name.toLowerCase()) ? splitListSetting(setting.slice(eq + 1)) : [setting.slice(eq + 1)];
  return `${client.escapeIdentifier(name)} TO ${values.map((v) => client.escapeLiteral(v)).join(', ')}`;
}

/** Only these words reach SQL: privilege names come from the catalog or a backup, not from users, but still. */
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
