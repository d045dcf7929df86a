import type pg from 'pg';
import { BantayError, ErrorCode } from '../../errors.ts';
import { settingClause } from '../pg/database-attributes.ts';
import type { ClusterGlobals, RoleDefinition } from './globals-format.ts';

/**
 * Which of a backup's roles a restore creates, decided before anything runs (pure). Only roles
 * missing from the target server are created; an existing role is never altered (not its
 * attributes, password, settings or memberships), so a restore cannot change who can do what
 * on a server that already has people on it. Memberships and settings are applied only to the
 * roles this restore creates. SUPERUSER, REPLICATION and BYPASSRLS are never given: a restore
 * that mints superusers is a privilege escalation waiting to happen; the plan says so instead.
 */
export interface RolePlan {
  /** Roles to create, in order, with what goes with them. */
  create: RoleDefinition[];
  /** Memberships to grant: role -> member, both ends existing once `create` is done. */
  grants: Array<{ role: string; member: string; adminOption: boolean }>;
  /** Everything the plan left out on purpose, one sentence each. */
  notes: string[];
}

export function planRoleCreation(globals: ClusterGlobals, existing: ReadonlySet<string>): RolePlan {
  const create = globals.roles.filter((r) => !existing.has(r.name) && !r.name.startsWith('pg_'));
  const created = new Set(create.map((r) => r.name));
  const notes: string[] = [];
  for (const r of create) {
    const withheld = [r.superuser && 'SUPERUSER', r.replication && 'REPLICATION', r.bypassRls && 'BYPASSRLS'].filter(Boolean);
    if (withheld.length > 0) notes.push(`role ${r.name} was created without ${withheld.join(', ')} (Bantay never grants these; do it by hand if needed)`);
    if (r.canLogin && r.password === null) notes.push(`role ${r.name} can log in but has no password yet (ALTER ROLE … PASSWORD)`);
  }
  const grants: RolePlan['grants'] = [];
  for (const m of globals.memberships) {
    if (!created.has(m.member)) {
      if (created.has(m.role)) notes.push(`${m.member} was not made a member of the new role ${m.role}: ${m.member} already existed and is left unchanged`);
      continue;
    }
    if (!existing.has(m.role) && !created.has(m.role)) continue;
    grants.push({ role: m.role, member: m.member, adminOption: m.adminOption });
  }
  return { create, grants, notes };
}

/**
 * Creates the planned roles (attributes, password, settings, settings in database `database`)
 * and grants the memberships, in one transaction: either every missing role exists afterwards
 * or none was created. A role without CREATEROLE gets a message that says what to do.
 */
export async function applyRolePlan(client: pg.Client, plan: RolePlan, globals: ClusterGlobals, database: string): Promise<void> {
  if (plan.create.length === 0) return;
  const id = (n: string) => client.escapeIdentifier(n);
  const inDb = globals.database.roleSettings;
  try {
    await client.query('BEGIN');
    for (const r of plan.create) {
      await client.query(`CREATE ROLE ${id(r.name)} WITH ${roleOptions(client, r)}`);
      for (const s of r.settings) await client.query(`ALTER ROLE ${id(r.name)} SET ${settingClause(client, s)}`);
      for (const s of inDb.find((x) => x.role === r.name)?.settings ?? []) {
        await client.query(`ALTER ROLE ${id(r.name)} IN DATABASE ${id(database)} SET ${settingClause(client, s)}`);
      }
    }
    for (const g of plan.grants) await client.query(`GRANT ${id(g.role)} TO ${id(g.member)}${g.adminOption ? ' WITH ADMIN OPTION' : ''}`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const names = plan.create.map((r) => r.name).join(', ');
    const reason = (err as Error).message;
    throw new BantayError(
      ErrorCode.Database,
      `Could not create the roles this backup needs (${names}): ${reason}`,
      { cause: err, details: ['Give Bantay\'s role CREATEROLE, create these roles by hand, or restore with --no-owner (objects then belong to Bantay\'s role, without grants).'] },
    );
  }
}

function roleOptions(client: Pick<pg.Client, 'escapeLiteral'>, r: RoleDefinition): string {
  const flag = (on: boolean, word: string) => (on ? word : `NO${word}`);
  const parts = [flag(r.canLogin, 'LOGIN'), flag(r.inherit, 'INHERIT'), flag(r.createDb, 'CREATEDB'), flag(r.createRole, 'CREATEROLE')];
  parts.push(`CONNECTION LIMIT ${Math.max(-1, Math.trunc(r.connectionLimit))}`);
  if (r.validUntil !== null) parts.push(`VALID UNTIL ${client.escapeLiteral(r.validUntil)}`);
  if (r.password !== null) parts.push(`PASSWORD ${client.escapeLiteral(r.password)}`);
  return parts.join(' ');
}
