import type { Check } from '../../catalog/verification.ts';
import type { AdminSession } from '../pg/database-admin.ts';
import { existingRoleNames } from '../pg/database-attributes.ts';
import { applyRolePlan, planRoleCreation } from './create-roles.ts';
import type { ClusterGlobals } from './globals-format.ts';

/**
 * How a restore treats the roles a backup needs:
 * - `create`: create the missing ones (restore --target-db, in place);
 * - `if-present`: never create any; when some are missing restore without owners and grants
 *   and say so (verify and drill: a nightly check must not add roles to a server, and must
 *   not bring back a role someone dropped on purpose);
 * - `no-owner`: pg_restore --no-owner --no-privileges, no roles at all (restore --no-owner).
 */
export type RoleMode = 'create' | 'if-present' | 'no-owner';

export interface PreparedRoles {
  /** Run pg_restore with --no-owner --no-privileges. */
  noOwner: boolean;
  created: string[];
  notes: string[];
  check: Check;
}

/** Decides and (for `create`) creates the roles before pg_restore runs into `database`. */
export async function prepareRoles(session: AdminSession, database: string, globals: ClusterGlobals | undefined, mode: RoleMode): Promise<PreparedRoles> {
  const name = 'roles';
  if (mode === 'no-owner') {
    return { noOwner: true, created: [], notes: [], check: { name, status: 'skipped', detail: 'Restored with --no-owner: no roles created, objects belong to Bantay\'s role, no grants restored' } };
  }
  if (globals === undefined) {
    return { noOwner: false, created: [], notes: [], check: { name, status: 'skipped', detail: 'This backup was made before Bantay captured roles: the roles it references must already exist' } };
  }
  const plan = planRoleCreation(globals, await existingRoleNames(session.client));
  const total = globals.roles.length;
  if (plan.create.length === 0) {
    return { noOwner: false, created: [], notes: [], check: { name, status: 'passed', detail: `All ${total} roles the backup references exist on this server`, expected: total, actual: total } };
  }
  const missing = plan.create.map((r) => r.name);
  if (mode === 'if-present') {
    return {
      noOwner: true,
      created: [],
      notes: [],
      check: {
        name,
        status: 'skipped',
        detail: `${missing.length} role(s) the backup references do not exist on this server (${missing.join(', ')}): checked without owners and grants; a restore creates them`,
        expected: total,
        actual: total - missing.length,
      },
    };
  }
  await applyRolePlan(session.client, plan, globals, database);
  return {
    noOwner: false,
    created: missing,
    notes: plan.notes,
    check: { name, status: 'passed', detail: `Created ${missing.length} missing role(s) of ${total}: ${missing.join(', ')}`, expected: total, actual: total },
  };
}
