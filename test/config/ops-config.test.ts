import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { BantayError } from '../../src/errors.ts';
import { redactSecrets } from '../../src/log/redact.ts';
import { DEFAULT_SCHEDULE } from '../../src/schedule/schedule-config.ts';

const cwd = mkdtempSync(join(tmpdir(), 'bantay-ops-config-'));
const load = (env: Record<string, string>) => loadConfig({ env, cwd, dotenv: false });
const problems = (env: Record<string, string>): string[] => {
  try {
    load(env);
  } catch (err) {
    return (err as BantayError).details as string[];
  }
  throw new Error('expected a configuration error');
};

describe('operations configuration', () => {
  it('defaults follow the recovery procedures, in Asia/Manila', () => {
    const { ops, secondary } = load({});
    expect(ops.timezone).toBe('Asia/Manila');
    // The weekly base backup is on only with WAL archiving (BANTAY_WAL).
    expect(ops.schedule).toEqual({ ...DEFAULT_SCHEDULE, base: null });
    expect(load({ BANTAY_WAL: 'stream' }).ops.schedule.base).toBe('30 0 * * 0');
    expect(ops.schedule.drill).toBe('0 9 * * 1#1');
    expect(ops.retention).toEqual({ dailyDays: 30, weeklyWeeks: 4, monthlyMonths: 12, preOpDays: 30, drillReportMonths: 12, exportDays: 30 });
    expect(ops.monitor).toMatchObject({ graceSeconds: 7200, minBackupBytes: { database: 1_000_000, application: 0, uploads: 0 }, sizeDropPercent: 50 });
    expect(ops.http).toEqual({ port: 3000, statusToken: undefined, metricsToken: undefined });
    expect(secondary).toBeUndefined();
  });

  it('every schedule can be changed or turned off; bad cron strings are named with the field that is wrong', () => {
    const { ops } = load({ BANTAY_SCHEDULE_MONITOR: '*/5  * * * *', BANTAY_SCHEDULE_DRILL: 'off', BANTAY_TZ: 'UTC' });
    expect(ops.schedule.monitor).toBe('*/5 * * * *');
    expect(ops.schedule.drill).toBeNull();
    expect(ops.timezone).toBe('UTC');
    expect(problems({ BANTAY_SCHEDULE_DATABASE: '0 25 * * *', BANTAY_SCHEDULE_SYNC: 'daily at five' })).toEqual([
      expect.stringMatching(/^BANTAY_SCHEDULE_DATABASE: is not a valid cron expression \(25 is an invalid expression for hour\)/),
      expect.stringMatching(/^BANTAY_SCHEDULE_SYNC: is not a valid cron expression/),
    ]);
  });

  it('the secondary location has its own S3 settings and credentials, and its problems name its variables', () => {
    const { secondary } = load({
      BANTAY_SECONDARY_STORE: 's3://fbms-dr/copy',
      BANTAY_SECONDARY_S3_ENDPOINT: 'https://s3.eu-central-1.wasabisys.com',
      BANTAY_SECONDARY_S3_REGION: 'eu-central-1',
      BANTAY_SECONDARY_AWS_ACCESS_KEY_ID: 'AKIASECONDARY',
      BANTAY_SECONDARY_AWS_SECRET_ACCESS_KEY: 'secondary-secret-value-123',
      S3_ENDPOINT: 'https://primary.example',
      AWS_ACCESS_KEY_ID: 'AKIAPRIMARY',
      AWS_SECRET_ACCESS_KEY: 'primary-secret',
    });
    expect(secondary).toMatchObject({
      type: 's3',
      bucket: 'fbms-dr',
      prefix: 'copy',
      endpoint: 'https://s3.eu-central-1.wasabisys.com',
      region: 'eu-central-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIASECONDARY', secretAccessKey: 'secondary-secret-value-123' },
    });
    expect(redactSecrets('oops secondary-secret-value-123')).toBe('oops ***');
    expect(load({ BANTAY_SECONDARY_STORE: '/mnt/nfs/bantay' }).secondary).toEqual({ type: 'local', dir: '/mnt/nfs/bantay' });
    expect(problems({ BANTAY_SECONDARY_STORE: 's3://x/y', BANTAY_SECONDARY_AWS_ACCESS_KEY_ID: 'AKIA' }).join()).toMatch(/BANTAY_SECONDARY_AWS_SECRET_ACCESS_KEY: must be set together/);
    expect(problems({ BANTAY_SECONDARY_STORE: 'ftp://nope' })).toEqual([expect.stringMatching(/^BANTAY_SECONDARY_STORE: /)]);
  });

  it('tokens must be long; sizes, durations and retention are parsed', () => {
    expect(problems({ BANTAY_STATUS_TOKEN: 'short' })).toEqual([expect.stringMatching(/^BANTAY_STATUS_TOKEN: must be at least 16 characters/)]);
    const { ops } = load({ BANTAY_MIN_DATABASE_BACKUP_SIZE: '500MiB', BANTAY_MONITOR_GRACE: '90m', BANTAY_RETAIN_DAILY_DAYS: '14', BANTAY_STORAGE_WARN_SIZE: '2TB', BANTAY_STATUS_TOKEN: 'a'.repeat(24) });
    expect(ops.monitor.minBackupBytes.database).toBe(500 * 1024 * 1024);
    expect(ops.monitor.graceSeconds).toBe(5400);
    expect(ops.monitor.storageWarnBytes).toBe(2e12);
    expect(ops.retention.dailyDays).toBe(14);
    expect(problems({ BANTAY_MIN_DATABASE_BACKUP_SIZE: 'big', BANTAY_RETAIN_DAILY_DAYS: '0' }).map((p) => p.split(':')[0])).toEqual(['BANTAY_RETAIN_DAILY_DAYS', 'BANTAY_MIN_DATABASE_BACKUP_SIZE']);
  });
});
