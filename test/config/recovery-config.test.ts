import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';

const load = (env: Record<string, string>) => loadConfig({ env, cwd: '/tmp', dotenv: false });

describe('recovery configuration', () => {
  it('has safe defaults', () => {
    expect(load({}).recovery).toEqual({
      appStopCmd: undefined,
      appStartCmd: undefined,
      hookTimeoutSeconds: 120,
      restoreJobs: 1,
      rtoObjectiveSeconds: 4 * 3600,
      rpoObjectiveSeconds: 3600,
      maintenanceDb: 'postgres',
      requiredTables: [],
      backupRolePasswords: false,
    });
  });

  it('reads hooks, jobs, timeouts and durations in s, m, h, d or plain seconds', () => {
    const config = load({
      BANTAY_APP_STOP_CMD: ' systemctl stop fbms ',
      BANTAY_APP_START_CMD: 'systemctl start fbms',
      BANTAY_HOOK_TIMEOUT: '30',
      BANTAY_RESTORE_JOBS: '4',
      BANTAY_RTO_OBJECTIVE: '90m',
      BANTAY_RPO_OBJECTIVE: '3600s',
      BANTAY_MAINTENANCE_DB: 'template_admin',
    }).recovery;
    expect(config).toMatchObject({ appStopCmd: 'systemctl stop fbms', appStartCmd: 'systemctl start fbms', hookTimeoutSeconds: 30, restoreJobs: 4, rtoObjectiveSeconds: 5400, rpoObjectiveSeconds: 3600, maintenanceDb: 'template_admin' });
    expect(load({ BANTAY_RTO_OBJECTIVE: '1d', BANTAY_RPO_OBJECTIVE: '900' }).recovery).toMatchObject({ rtoObjectiveSeconds: 86_400, rpoObjectiveSeconds: 900 });
  });

  it('reports bad values by variable', () => {
    expect(() => load({ BANTAY_RTO_OBJECTIVE: 'soon', BANTAY_RPO_OBJECTIVE: '-1h', BANTAY_RESTORE_JOBS: '0', BANTAY_HOOK_TIMEOUT: 'x', BANTAY_MAINTENANCE_DB: 'a;b' })).toThrow(
      expect.objectContaining({
        details: [
          'BANTAY_HOOK_TIMEOUT: must be a whole number from 1 to 3600',
          'BANTAY_RESTORE_JOBS: must be a whole number from 1 to 64',
          'BANTAY_RTO_OBJECTIVE: must be a duration like 4h, 90m or 3600s',
          'BANTAY_RPO_OBJECTIVE: must be a duration like 4h, 90m or 3600s',
          'BANTAY_MAINTENANCE_DB: must be a database name',
        ],
      }),
    );
  });
});
