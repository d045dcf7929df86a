import type pg from 'pg';
import { readDatabaseAttributes } from '../pg/database-attributes.ts';
import { GLOBALS_FORMAT, type ClusterGlobals, type Membership, type RoleDefinition } from './globals-format.ts';

/**
 * Roles the current database refers to: every role pg_shdepend records for it (owners, ACL
 * grantees, policy roles, default privileges, the database itself), plus owners in the main
 * catalogs, because objects owned by the bootstrap superuser are pinned and not in
 * pg_shdepend, plus roles with settings for this database.
 */
const REFERENCED_ROLES = `
  WITH db AS (SELECT oid FROM pg_database WHERE datname = current_database())
  SELECT DISTINCT r.rolname AS name FROM pg_roles r WHERE r.oid IN (
    SELECT refobjid FROM pg_shdepend, db WHERE refclassid = 'pg_authid'::regclass
       AND (dbid = db.oid OR (dbid = 0 AND classid = 'pg_database'::regclass AND objid = db.oid))
    UNION SELECT datdba FROM pg_database, db WHERE pg_database.oid = db.oid
    UNION SELECT setrole FROM pg_db_role_setting, db WHERE setdatabase = db.oid
    UNION SELECT c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    UNION SELECT nspowner FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
    UNION SELECT p.proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    UNION SELECT t.typowner FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    UNION SELECT lomowner FROM pg_largeobject_metadata
    UNION SELECT extowner FROM pg_extension WHERE extname <> 'plpgsql'
    UNION SELECT evtowner FROM pg_event_trigger
  )`;

const VERIFIER = /^(SCRAM-SHA-256\$|md5[0-9a-f]{32}$)/;

/** pg_* roles exist on every server (predefined roles): never captured, never created. */
const PREDEFINED = /^pg_/;

interface RoleRow extends Omit<RoleDefinition, 'password' | 'settings'> {
  settings: string[] | null;
}

/**
 * Captures the globals of the current database in the client's transaction (the dump's
 * snapshot). The role set is closed over memberships in both directions: the groups a
 * referenced role belongs to (its privileges come through them) and the members of a
 * referenced role (e.g. the login role the application uses to reach a group's grants).
 * Passwords only when asked and readable (`passwords` says whether they are in it).
 */
export async function captureGlobals(client: pg.Client, backupId: string, options: { passwords: boolean }): Promise<ClusterGlobals> {
  const { rows: db } = await client.query<{ name: string }>('SELECT current_database() AS name');
  const database = db[0]!.name;
  const seed = (await client.query<{ name: string }>(REFERENCED_ROLES)).rows.map((r) => r.name);
  const edges = await readMemberships(client);
  const names = closeOverMemberships(seed, edges);
  const roles = await readRoles(client, [...names]);
  const passwords = options.passwords && (await canReadPasswords(client));
  if (passwords) await addPasswords(client, roles);
  const attributes = await readDatabaseAttributes(client, database);
  return {
    format: GLOBALS_FORMAT,
    backupId,
    database: { name: database, ...attributes! },
    roles,
    memberships: edges.filter((e) => names.has(e.member) && (names.has(e.role) || PREDEFINED.test(e.role))),
    passwords,
  };
}

/** Every role reachable from `seed` through memberships, either way, stopping at predefined roles. */
export function closeOverMemberships(seed: readonly string[], edges: readonly Membership[]): Set<string> {
  const found = new Set(seed.filter((n) => !PREDEFINED.test(n)));
  const queue = [...found];
  while (queue.length > 0) {
    const name = queue.pop()!;
    for (const e of edges) {
      const other = e.member === name ? e.role : e.role === name ? e.member : undefined;
      if (other === undefined || PREDEFINED.test(other) || found.has(other)) continue;
      found.add(other);
      queue.push(other);
    }
  }
  return found;
}

async function readMemberships(client: pg.Client): Promise<Membership[]> {
  // to_jsonb: inherit_option exists from PostgreSQL 16 only.
  const { rows } = await client.query<{ role: string; member: string; m: Record<string, unknown> }>(
    `SELECT r.rolname AS role, u.rolname AS member, to_jsonb(m) AS m
       FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member ORDER BY 1, 2`,
  );
  return rows.map((row) => ({
    role: row.role,
    member: row.member,
    adminOption: row.m.admin_option === true,
    ...(typeof row.m.inherit_option === 'boolean' ? { inheritOption: row.m.inherit_option } : {}),
  }));
}

async function readRoles(client: pg.Client, names: string[]): Promise<RoleDefinition[]> {
  const { rows } = await client.query<RoleRow>(
    `SELECT rolname AS name, rolsuper AS superuser, rolinherit AS inherit, rolcreaterole AS "createRole", rolcreatedb AS "createDb",
            rolcanlogin AS "canLogin", rolreplication AS replication, rolbypassrls AS "bypassRls", rolconnlimit AS "connectionLimit",
            CASE WHEN rolvaliduntil IS NULL THEN NULL ELSE to_char(rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END AS "validUntil",
            rolconfig AS settings
       FROM pg_roles WHERE rolname = ANY($1::text[]) ORDER BY rolname`,
    [names],
  );
  return rows.map((r) => ({ ...r, password: null, settings: r.settings ?? [] }));
}

/** pg_authid is superuser-only; managed services (RDS, Cloud SQL, Supabase…) never grant it. */
async function canReadPasswords(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(`SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS ok`);
  return rows[0]!.ok;
}

async function addPasswords(client: pg.Client, roles: RoleDefinition[]): Promise<void> {
  const { rows } = await client.query<{ name: string; password: string | null }>(
    'SELECT rolname AS name, rolpassword AS password FROM pg_catalog.pg_authid WHERE rolname = ANY($1::text[])',
    [roles.map((r) => r.name)],
  );
  const byName = new Map(rows.map((r) => [r.name, r.password]));
  // PostgreSQL 10+ stores only SCRAM or MD5 verifiers; anything else is not carried.
  for (const role of roles) role.password = VERIFIER.test(byName.get(role.name) ?? '') ? byName.get(role.name)! : null;
}
