import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { runApplicationBackup } from '../../src/jobs/files/backup-files.ts';
import { childEnv } from '../../src/jobs/pg/connection.ts';
import { runHook } from '../../src/jobs/run-hook.ts';
import { redactSecrets } from '../../src/log/redact.ts';
import { currentProcess, processToken } from '../../src/state/process-identity.ts';
import { processTempDir, sweepDeadTempDirs } from '../../src/util/temp-dir.ts';
import { noise, writeFiles } from '../support/file-trees.ts';
import { cliTrigger, makeDeps, newKey, tempDir } from '../support/job-deps.ts';

describe('secrets from .env and the merged configuration are redacted', () => {
  it('registers .env secrets, the webhook path and every text form of current and retired keys', () => {
    const cwd = tempDir('bantay-env-');
    const primary = newKey();
    const retired = newKey();
    const webhookPath = '/services/T000/B000/sEcReTwEbHoOkPaTh';
    writeFileSync(
      join(cwd, '.env'),
      [
        'SLACK_SIGNING_SECRET=8f14e45fceea167a5a36dedd4bea2543',
        'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        `BANTAY_ALERT_WEBHOOK_URL=https://hooks.slack.com${webhookPath}`,
        `BANTAY_ENCRYPTION_KEY=${primary.key.toString('base64')}`,
        `BANTAY_DECRYPTION_KEYS=${retired.key.toString('base64')}`,
      ].join('\n'),
    );
    loadConfig({ env: {}, cwd });
    const text = [
      'signing 8f14e45fceea167a5a36dedd4bea2543',
      'aws wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      `hook https://hooks.slack.com${webhookPath}`,
      `path ${webhookPath}`,
      `key ${primary.key.toString('base64url').replace(/=+$/, '')}`,
      `key ${primary.key.toString('hex')}`,
      `retired ${retired.key.toString('base64').replace(/=+$/, '')}`,
      `retired ${retired.key.toString('base64url')}`,
    ].join('\n');
    const out = redactSecrets(text);
    expect(out).not.toContain('8f14e45fceea167a5a36dedd4bea2543');
    expect(out).not.toContain('wJalrXUtnFEMI');
    expect(out).not.toContain('sEcReTwEbHoOkPaTh');
    expect(out).not.toContain(primary.key.toString('hex'));
    expect(out).not.toContain(primary.key.toString('base64url').replace(/=+$/, ''));
    expect(out).not.toContain(retired.key.toString('base64').replace(/=+$/, ''));
    expect(out).not.toContain(retired.key.toString('base64url'));
  });
});

describe('child processes get an allow-listed environment', () => {
  it('pg tools see libpq variables and the basics, not DATABASE_URL, webhook URLs or provider tokens', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { DATABASE_URL: 'postgres://u:p@h/db', BANTAY_ALERT_WEBHOOK_URL: 'https://hooks.example/x', B2_APPLICATION_KEY_ID: 'k', LC_ALL: 'C.UTF-8' });
      const env = childEnv('postgres://fbms:pw@db.internal:5432/fbms');
      expect(env).toMatchObject({ PGHOST: 'db.internal', PGUSER: 'fbms', PGPASSWORD: 'pw', PGDATABASE: 'fbms', LC_ALL: 'C.UTF-8' });
      expect(env.PATH).toBe(process.env.PATH);
      for (const name of ['DATABASE_URL', 'BANTAY_ALERT_WEBHOOK_URL', 'B2_APPLICATION_KEY_ID']) expect(env[name]).toBeUndefined();
    } finally {
      process.env = saved;
    }
  });

  it('hooks run without any of Bantay\'s configuration in their environment', async () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { BANTAY_ALERT_WEBHOOK_URL: 'https://hooks.example/leak', BANTAY_STATUS_URLISH: 'x', SOME_PROVIDER_CREDENTIAL: 'leak2' });
      const result = await runHook('stop', 'env', { timeoutSeconds: 10 });
      expect(result.output).toContain('PATH=');
      expect(result.output).not.toContain('hooks.example');
      expect(result.output).not.toContain('leak2');
      expect(result.output).not.toMatch(/^BANTAY_/m);
    } finally {
      process.env = saved;
    }
  });
});

describe('plaintext temporary files live under BANTAY_DATA_DIR/tmp', () => {
  it('a files backup writes its gzip parts in the job temp dir (0700), not the system temp dir', async () => {
    const { deps, close, dir } = await makeDeps();
    try {
      const app = join(dir, 'app');
      writeFiles(app, { 'big.csv': 'date,amount\n'.repeat(300_000), 'small.txt': noise(1000, 's') }, 1_767_225_600);
      const seen: string[] = [];
      await runApplicationBackup({ appDir: app, exclude: [], trigger: cliTrigger }, deps, {
        phase: () => {
          for (const name of readdirSync(deps.tempDir!)) {
            seen.push(name);
            expect(statSync(join(deps.tempDir!, name)).mode & 0o777).toBe(0o700);
          }
        },
      });
      expect(seen.some((name) => name.startsWith('files-'))).toBe(true);
      expect(readdirSync(deps.tempDir!)).toEqual([]);
    } finally {
      await close();
    }
  });

  it('each start removes the directories of dead processes and keeps live ones', () => {
    const dataDir = tempDir('bantay-data-');
    const mine = processTempDir(dataDir);
    expect(statSync(mine).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'tmp')).mode & 0o777).toBe(0o700);
    const me = currentProcess();
    // Our pid with another start time: the earlier incarnation of a restarted container.
    const previous = processToken({ ...me, startTime: String(Number(me.startTime) - 500) });
    const dead = 'p999999-12345-abcdef012345';
    for (const name of [previous, dead]) {
      mkdirSync(join(dataDir, 'tmp', name, 'files-x'), { recursive: true });
      writeFileSync(join(dataDir, 'tmp', name, 'files-x', '1.gz'), 'plaintext');
    }
    expect(sweepDeadTempDirs(dataDir).sort()).toEqual([dead, previous].sort());
    expect(readdirSync(join(dataDir, 'tmp'))).toEqual([processToken()]);
  });
});
