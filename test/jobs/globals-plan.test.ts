import { describe, expect, it } from 'vitest';
import { checkBackupOrigin } from '../../src/jobs/backup-origin.ts';
import { closeOverMemberships } from '../../src/jobs/globals/capture-globals.ts';
import { planRoleCreation } from '../../src/jobs/globals/create-roles.ts';
import type { ClusterGlobals, RoleDefinition } from '../../src/jobs/globals/globals-format.ts';

const role = (name: string, over: Partial<RoleDefinition> = {}): RoleDefinition => ({
  name,
  superuser: false,
  inherit: true,
  createRole: false,
  createDb: false,
  canLogin: false,
  replication: false,
  bypassRls: false,
  connectionLimit: -1,
  validUntil: null,
  password: null,
  settings: [],
  ...over,
});

const globals: ClusterGlobals = {
  format: 'bantay-globals-v1',
  backupId: 'db-20261126T010000Z-7f3a',
  database: { name: 'fbms', owner: 'owner', connectionLimit: -1, comment: null, acl: null, settings: [], roleSettings: [] },
  roles: [role('owner', { superuser: true }), role('app', { canLogin: true }), role('readers'), role('alice', { canLogin: true, password: 'md5' + '0'.repeat(32) })],
  memberships: [
    { role: 'readers', member: 'app', adminOption: false },
    { role: 'readers', member: 'alice', adminOption: true },
    { role: 'pg_read_all_data', member: 'alice', adminOption: false },
  ],
  passwords: true,
};

describe('planRoleCreation', () => {
  it('creates only missing roles, never grants SUPERUSER, and grants memberships only to roles it creates', () => {
    const plan = planRoleCreation(globals, new Set(['app', 'pg_read_all_data']));
    expect(plan.create.map((r) => r.name)).toEqual(['owner', 'readers', 'alice']);
    expect(plan.grants).toEqual([
      { role: 'readers', member: 'alice', adminOption: true },
      { role: 'pg_read_all_data', member: 'alice', adminOption: false },
    ]);
    expect(plan.notes).toEqual([
      'role owner was created without SUPERUSER (Bantay never grants these; do it by hand if needed)',
      'app was not made a member of the new role readers: app already existed and is left unchanged',
    ]);
  });

  it('creates nothing on a server that has every role', () => {
    expect(planRoleCreation(globals, new Set(['owner', 'app', 'readers', 'alice']))).toEqual({ create: [], grants: [], notes: [] });
  });

  it('closes the referenced roles over memberships both ways, stopping at predefined roles', () => {
    const edges = [
      { role: 'readers', member: 'app', adminOption: false },
      { role: 'staff', member: 'readers', adminOption: false },
      { role: 'pg_monitor', member: 'app', adminOption: false },
      { role: 'pg_monitor', member: 'stranger', adminOption: false },
      { role: 'unrelated', member: 'nobody', adminOption: false },
    ];
    expect([...closeOverMemberships(['readers'], edges)].sort()).toEqual(['app', 'readers', 'staff']);
  });
});

describe('checkBackupOrigin', () => {
  const manifest = { id: 'db-20261126T010000Z-7f3a', source: { host: 'db.local', port: 5432, database: 'fbms', systemIdentifier: '7312' } };
  it('is the same database only with the same name and server', () => {
    expect(checkBackupOrigin(manifest, { database: 'fbms', host: '10.0.0.5', port: 6432, systemIdentifier: '7312' })).toMatchObject({ sameDatabase: true });
    expect(checkBackupOrigin(manifest, { database: 'fbms_test', host: 'db.local', port: 5432, systemIdentifier: '7312' })).toMatchObject({
      sameDatabase: false,
      reason: 'db-20261126T010000Z-7f3a is a backup of fbms, not of the live database fbms_test',
      backup: 'fbms on server 7312 (db.local:5432)',
      live: 'fbms_test on server 7312 (db.local:5432)',
    });
    expect(checkBackupOrigin(manifest, { database: 'fbms', host: 'db.local', port: 5432, systemIdentifier: '9999' }).reason).toMatch(/another server/);
    // Without an identifier on one side, host and port decide.
    expect(checkBackupOrigin(manifest, { database: 'fbms', host: 'db.local', port: 5432 }).sameDatabase).toBe(true);
    expect(checkBackupOrigin(manifest, { database: 'fbms', host: 'other', port: 5432 }).reason).toMatch(/taken on db.local:5432, the live database is on other:5432/);
    expect(checkBackupOrigin({ id: 'x', source: { host: 'db.local' } }, { database: 'fbms', host: 'db.local', port: 5432 }).sameDatabase).toBe(false);
  });
});
