import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { listAudit } from '../../../src/state/audit-log.ts';
import { openStateDb } from '../../../src/state/state-db.ts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { createFbmsSchema, seedFbmsData } from '../../../src/dev/fbms-fixture.ts';
import { withDatabase } from '../../../src/jobs/pg/connection.ts';
import { PassThrough } from 'node:stream';
import { FakeSlackApi } from '../../../src/bot/dev/fake-slack-api.ts';
import { SimulatedSlack } from '../../../src/bot/dev/simulated-slack.ts';
import { main } from '../../../src/cli/main.ts';
import { freePort } from '../../../src/dev/pg-cluster-process.ts';
import { CHANNEL, OPERATOR, SIGNING_SECRET } from '../../bot/harness.ts';
import { CliContext } from '../../../src/cli/context.ts';
import { recoveryBase } from '../../../src/cli/recovery.ts';
import { runDrill } from '../../../src/jobs/drill.ts';
import { drillPitrOf } from '../../../src/jobs/pitr/pitr-settings.ts';
import { bantay } from '../../support/cli.ts';
import { createDatabase, sql } from '../../support/databases.ts';
import { tempDir } from '../../support/job-deps.ts';
import { startPitrCluster, startServerOn, switchAndWait, type PitrCluster } from '../../support/pitr-cluster.ts';
import { mountTinyFilesystem, unmountTiny } from '../../support/tiny-filesystem.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const labels = async (url: string) => (await sql<{ label: string }>(url, 'SELECT label FROM prices ORDER BY id')).map((r) => r.label);

/**
 * The point-in-time recovery matrix on a real cluster archiving through `bantay wal push`:
 * rows committed before and after a chosen second; recovery to that second yields exactly the
 * rows before it, into a new database, to a directory (then run as a promoted replacement
 * that keeps archiving on its new timeline) and in place; a time outside the window is refused.
 */
describe('bantay restore --time / --latest', () => {
  let p: PitrCluster;
  let fbms: string;
  let env: Record<string, string>;
  let cut: Date;
  const before = ['b1', 'b2', 'b3'];
  beforeAll(async () => {
    p = await startPitrCluster({ s3Endpoint: inject('s3Endpoint') });
    fbms = await p.cluster.createDatabase('fbms_pitr');
    env = { ...p.env, DATABASE_URL: fbms };
    const client = new pg.Client({ connectionString: fbms });
    await client.connect();
    await createFbmsSchema(client);
    await seedFbmsData(client, { scale: 1, seed: 3 });
    await client.end();
    await sql(fbms, 'CREATE TABLE prices (id serial PRIMARY KEY, label text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())');
    await sql(fbms, "INSERT INTO prices (label) VALUES ('seed')");
    // The base backup runs while another session keeps committing.
    let writing = true;
    const writer = (async () => {
      let n = 0;
      while (writing) {
        await sql(fbms, 'INSERT INTO prices (label) VALUES ($1)', [`during-${n++}`]);
        await sleep(20);
      }
    })();
    const base = await bantay(['backup', 'base', '--json'], env, p.dir);
    writing = false;
    await writer;
    expect(base.stderr).toBe('');
    expect(base.code).toBe(0);
    const manifest = JSON.parse(base.stdout) as { startLsn: string; stopLsn: string; systemIdentifier: string; timeline: number };
    expect(manifest.timeline).toBe(1);
    await sql(fbms, "DELETE FROM prices WHERE label LIKE 'during-%'");
    await switchAndWait(p.cluster.adminUrl);
    await sleep(1200);
    for (const label of before) await sql(fbms, 'INSERT INTO prices (label) VALUES ($1)', [label]);
    await sleep(1200);
    cut = new Date();
    await sleep(1200);
    await sql(fbms, "INSERT INTO prices (label) VALUES ('a1'), ('a2')");
    await sql(fbms, "UPDATE prices SET label = 'bad-price-update' WHERE label = 'b1'");
    await switchAndWait(p.cluster.adminUrl);
  }, 600_000);
  afterAll(async () => {
    await p?.stop();
  });

  it('recovers to a new database with exactly the rows committed before the time (in BANTAY_TZ, with the point reached)', async () => {
    const manila = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Manila', dateStyle: 'short', timeStyle: 'medium' }).format(cut);
    const result = await bantay(['restore', '--time', manila, '--target-db', 'fbms_at_cut', '--json'], env, p.dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { point: { lsn: string; lastTransactionAt: string }; copyBackupId: string; phases: Record<string, number>; rtoSeconds: number };
    expect(new Date(report.point.lastTransactionAt).getTime()).toBeLessThanOrEqual(cut.getTime());
    // Where the RTO went, every step accounted for.
    expect(Object.keys(report.phases)).toEqual(['planning', 'unpacking', 'recovering', 'checking', 'copying', 'restoring']);
    expect(Object.values(report.phases).reduce((a, b) => a + b, 0)).toBeCloseTo(report.rtoSeconds, 0);
    expect(report.point.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(await labels(withDatabase(fbms, 'fbms_at_cut'))).toEqual(['seed', ...before]);
    // The scratch cluster is gone; only the intermediate catalogued dump remains, labelled.
    expect(await readdir(join(p.dataDir, 'pitr'))).toEqual([]);
    const list = await bantay(['list', '--json'], env, p.dir);
    expect(list.stdout).toContain(report.copyBackupId);
    // The name is taken now: a second recovery to it is refused before anything is unpacked or replayed.
    const again = await bantay(['restore', '--time', manila, '--target-db', 'fbms_at_cut'], env, p.dir);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('Database fbms_at_cut already exists');
    // Refused late, it would have recovered and catalogued another copy first.
    expect((await bantay(['list', '--json'], env, p.dir)).stdout).toBe(list.stdout);
    expect(await readdir(join(p.dataDir, 'pitr'))).toEqual([]);
  }, 300_000);

  it('from Slack, through bantay serve: the incident step "recover to the second before detection" recovers into a new database and closes the step', async () => {
    const api = await new FakeSlackApi().start();
    const port = await freePort();
    const stop = new AbortController();
    const serveEnv = { ...env, BANTAY_STATE_URL: await createDatabase(), SLACK_BOT_TOKEN: 'xoxb-pitr-test', SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_CHANNEL: CHANNEL, SLACK_API_URL: api.apiUrl, BANTAY_HTTP_PORT: String(port), BANTAY_OPERATORS: OPERATOR };
    const exit = main(['serve'], { env: serveEnv, signal: stop.signal, stdout: new PassThrough() as unknown as NodeJS.WriteStream, stderr: new PassThrough() as unknown as NodeJS.WriteStream, cwd: p.dir });
    try {
      let healthy = false;
      for (let i = 0; i < 150 && !healthy; i += 1) {
        healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
        if (!healthy) await sleep(100);
      }
      expect(healthy).toBe(true);
      const slack = new SimulatedSlack({ botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, api, channelId: CHANNEL });
      const text = (c: { args: Record<string, unknown> }) => `${String(c.args.text ?? '')} ${JSON.stringify(c.args.blocks ?? c.args.view ?? '')}`;
      let since = api.nextSeq;
      await slack.command(OPERATOR, '/incident');
      const declare = await slack.waitForModal(since);
      if (!declare || !('view' in declare)) throw new Error('no declare modal');
      // Detected one second after the cut: the step recovers to the cut itself.
      const detected = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Manila', dateStyle: 'short', timeStyle: 'medium' }).format(new Date(cut.getTime() + 1000));
      since = api.nextSeq;
      await slack.submitView(OPERATOR, declare.view, { incident_scenario: 'database-corruption', incident_summary: 'A price update without a WHERE clause', incident_detected_at: detected });
      const checklistCall = await api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts !== undefined && /Runbook/.test(text(c)), { since });
      const checklist = slack.currentMessage(checklistCall.args.channel as string, checklistCall.response.ts as string)!;
      since = api.nextSeq;
      await slack.clickButton(OPERATOR, checklist, 'bantay_incident_run_5');
      const run = await slack.waitForModal(since, 30_000);
      if (!run || !('view' in run)) throw new Error('no run modal');
      expect(JSON.stringify(run.view.blocks)).toMatch(/Recover the database to .*Asia\/Manila.* into a new database/);
      expect(JSON.stringify(run.view.blocks)).not.toContain('In place of the live data');
      since = api.nextSeq;
      expect(JSON.stringify(await slack.submitViewAndSee(OPERATOR, run.view, { incident_target_name: 'fbms_from_slack' }))).toMatch(/Step 5 started/);
      await api.waitFor((c) => c.method === 'chat.postMessage' && /Step 5 succeeded/.test(text(c)), { since, timeoutMs: 240_000 });
      expect(await labels(withDatabase(fbms, 'fbms_from_slack'))).toEqual(['seed', ...before]);
      // Step 6 checks that new database against the recovery's kept copy, not against an older dump.
      since = api.nextSeq;
      await slack.clickButton(OPERATOR, slack.currentMessage(checklistCall.args.channel as string, checklistCall.response.ts as string)!, 'bantay_incident_run_6');
      const verify = await slack.waitForModal(since, 30_000);
      if (!verify || !('view' in verify)) throw new Error('no run modal');
      expect(JSON.stringify(verify.view.blocks)).toMatch(/Check database fbms_from_slack against backup db-\d{8}T\d{6}Z-[0-9a-f]{4}/);
      since = api.nextSeq;
      expect(JSON.stringify(await slack.submitViewAndSee(OPERATOR, verify.view, {}))).toMatch(/Step 6 started/);
      const checked = await api.waitFor((c) => c.method === 'chat.postMessage' && /matches backup|does NOT match|Step 6/.test(text(c)), { since, timeoutMs: 60_000 });
      await api.waitFor((c) => c.method === 'chat.postMessage' && /Step 6 succeeded/.test(text(c)), { since, timeoutMs: 60_000 });
      expect(text(checked)).not.toContain('does NOT match');
      expect(api.violations()).toEqual([]);
    } finally {
      stop.abort();
      expect(await exit).toBe(0);
      await api.stop();
    }
  }, 300_000);

  it('the drill also recovers to five minutes before it started and reports the point-in-time RTO and RPO', async () => {
    await sql(fbms, "INSERT INTO prices (label) VALUES ('drill-marker')");
    await sql(fbms, "DELETE FROM prices WHERE label = 'drill-marker'");
    await switchAndWait(p.cluster.adminUrl);
    await sleep(1500);
    // The drill's clock runs five minutes ahead, so "five minutes before" falls inside this young archive.
    const drillStart = new Date(Date.now() + 5 * 60_000 - 3000);
    const ctx = new CliContext({ env: { ...env, BANTAY_STATE_URL: await createDatabase(), BANTAY_WAL: 'archive' }, stdout: new PassThrough() as unknown as NodeJS.WriteStream, stderr: new PassThrough() as unknown as NodeJS.WriteStream, cwd: p.dir, signal: new AbortController().signal });
    try {
      const pitr = drillPitrOf({ ...ctx.config, timeZone: ctx.config.files.timeZone });
      expect(pitr).toBeDefined();
      const deps = await ctx.deps();
      const { report, text } = await runDrill({ ...recoveryBase(ctx, {}), objectives: { rtoSeconds: 4 * 3600, rpoSeconds: 3600 }, pitr }, { ...deps, now: () => drillStart });
      const item = report.items.find((i) => i.kind === 'pitr');
      expect(item).toMatchObject({ status: 'passed', checks: expect.arrayContaining([expect.objectContaining({ name: 'point-in-time recovery', status: 'passed' })]) });
      expect(item!.rtoSeconds).toBeGreaterThan(0);
      // The newest archived WAL is about five minutes older than the drill's (shifted) start.
      expect(item!.rpoSeconds).toBeGreaterThan(4 * 60);
      expect(item!.rpoSeconds).toBeLessThan(6 * 60);
      expect(text).toMatch(/point-in-time recovery from base backup base-/);
      expect(await readdir(join(p.dataDir, 'pitr'))).toEqual([]);
    } finally {
      await ctx.close();
    }
    // Without WAL archiving configured the drill has no point-in-time part.
    expect(drillPitrOf({ wal: { mode: 'off' }, dataDir: p.dataDir, timeZone: 'UTC' })).toBeUndefined();
  }, 300_000);

  it('refuses a time outside the restorable window, naming the window', async () => {
    const result = await bantay(['restore', '--time', '2001-01-01 00:00:00', '--target-db', 'never'], env, p.dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/2001-01-01 00:00:00 Asia\/Manila is outside the restorable window \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Asia\/Manila to .*\): it is before the oldest base backup/);
    const future = await bantay(['restore', '--time', '2099-01-01 00:00:00+00:00', '--to-dir', join(p.dir, 'nope')], env, p.dir);
    expect(future.code).toBe(2);
    expect(future.stderr).toMatch(/nothing that recent is archived yet/);
  });

  it('killed with SIGKILL: the next start stops the orphaned recovery server, empties a --to-dir target and closes the run as abandoned', async () => {
    const time = cut.toISOString().replace('T', ' ').replace('Z', '+00:00');
    /** Runs the CLI in a child and SIGKILLs it once `ready` holds. */
    const killedWhen = async (args: string[], ready: (log: string) => boolean) => {
      const child = spawn(process.execPath, [resolve(import.meta.dirname, '../../../bin/bantay.js'), ...args], { env: { ...process.env, ...env, BANTAY_LOG_LEVEL: 'info', BANTAY_LOG_FORMAT: 'json' }, cwd: p.dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr.setEncoding('utf8').on('data', (t: string) => (log += t));
      const exited = new Promise((r) => child.once('exit', r));
      const deadline = Date.now() + 120_000;
      while (!ready(log) && Date.now() < deadline && child.exitCode === null) await sleep(10);
      expect(ready(log), log).toBe(true);
      child.kill('SIGKILL');
      await exited;
      return log;
    };
    const runDirs = () => readdirSync(join(p.dataDir, 'pitr'));
    const abandoned = async () => {
      const db = await openStateDb({ url: undefined, dataDir: p.dataDir });
      try {
        return (await listAudit(db)).filter((a) => a.status === 'abandoned' && a.backupType === 'pitr').length;
      } finally {
        await db.close();
      }
    };
    const before = await abandoned();

    // 1. While unpacking into the operator's directory: half a data directory is there.
    const parent = tempDir('bantay-killed-');
    chmodSync(parent, 0o755);
    const dir = join(parent, 'recovered');
    await killedWhen(['restore', '--time', time, '--to-dir', dir], () => existsSync(join(dir, 'PG_VERSION')));
    expect(runDirs()).toHaveLength(1);
    const first = await bantay(['wal', 'status', '--json'], { ...env, BANTAY_LOG_LEVEL: 'warn' }, p.dir);
    expect(first.stderr).toContain(`left by a dead Bantay process: emptied ${dir}`);
    expect(readdirSync(dir)).toEqual([]);
    expect(runDirs()).toEqual([]);

    // 2. While copying the database out of the recovered cluster: its server is running, and
    // nothing else would ever stop it.
    const pidFile = () => runDirs().map((run) => join(p.dataDir, 'pitr', run, 'data', 'postmaster.pid')).find((f) => existsSync(f));
    await killedWhen(['restore', '--time', time, '--target-db', 'fbms_killed'], (log) => /"msg":"copying/.test(log) && pidFile() !== undefined);
    const pid = Number(readFileSync(pidFile()!, 'utf8').split('\n')[0]);
    await sleep(300);
    expect(alive(pid)).toBe(true);
    const second = await bantay(['wal', 'status', '--json'], { ...env, BANTAY_LOG_LEVEL: 'warn' }, p.dir);
    expect(second.stderr).toContain(`left by a dead Bantay process: stopped its recovery server (pid ${pid})`);
    expect(alive(pid)).toBe(false);
    expect(runDirs()).toEqual([]);
    // Both attempts are in the audit log (closed as abandoned when the state database next opened).
    expect(await abandoned()).toBe(before + 2);
  });

  it('to a directory on a full filesystem: fails naming the full disk (not the store), empties the directory and records disk-full', async (ctx) => {
    const parent = mountTinyFilesystem('bantay-todir-full-', '24m', '0755');
    if (parent === undefined) return ctx.skip(); // needs root to mount a tmpfs; see the README ("Failures")
    try {
      const dir = join(parent, 'recovered');
      const result = await bantay(['restore', '--time', cut.toISOString().replace('T', ' ').replace('Z', '+00:00'), '--to-dir', dir], env, p.dir);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/Point-in-time restore failed: no space left on a disk being written \(not the backup store\)/);
      expect(result.stderr).toContain(dir);
      expect(result.stderr).toMatch(/No space left on device/);
      expect(result.stderr).not.toMatch(/store full|prune/);
      // Nothing half-restored is left for a server to start on, and no scratch run either.
      expect(readdirSync(dir)).toEqual([]);
      expect(readdirSync(join(p.dataDir, 'pitr'))).toEqual([]);
      const db = await openStateDb({ url: undefined, dataDir: p.dataDir });
      try {
        const [run] = await db.query<{ status: string; failure_cause: string }>("SELECT status, failure_cause FROM job_runs WHERE job LIKE 'restore%' ORDER BY started_at DESC LIMIT 1");
        expect(run).toEqual({ status: 'failed', failure_cause: 'disk-full' });
      } finally {
        await db.close();
      }
    } finally {
      unmountTiny(parent);
    }
  });

  it('to a directory: a replacement server starts from it, runs on a new timeline, keeps archiving, and --latest follows that timeline', async () => {
    const parent = tempDir('bantay-todir-');
    chmodSync(parent, 0o755); // the server's user must reach the directory, as on a real host
    const dir = join(parent, 'recovered');
    const result = await bantay(['restore', '--time', cut.toISOString().replace('T', ' ').replace('Z', '+00:00'), '--to-dir', dir], env, p.dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/now on timeline 2/);
    expect(result.stdout).toMatch(/Time taken: planning [\d.]+s, unpacking [\d.]+s, recovering [\d.]+s, checking [\d.]+s, stopping [\d.]+s\./);
    expect(result.stdout).toContain(`pg_ctl -D ${dir}`);
    const replacement = await startServerOn(dir);
    try {
      const url = replacement.url('fbms_pitr', fbms);
      expect(await labels(url)).toEqual(['seed', ...before]);
      await sql(url, "INSERT INTO prices (label) VALUES ('on-timeline-2')");
      const [tl] = await sql<{ tl: number }>(url, 'SELECT timeline_id AS tl FROM pg_control_checkpoint()');
      await sql(url, 'CHECKPOINT');
      const archived = await switchAndWait(url);
      expect(archived.startsWith('00000002')).toBe(true);
      void tl;
    } finally {
      await replacement.stop();
      // The recovered directory (about 120 MB) is the test's own; the stopped server no longer uses it.
      rmSync(parent, { recursive: true, force: true });
    }
    const latest = await bantay(['restore', '--latest', '--target-db', 'fbms_latest_tl2', '--json'], env, p.dir);
    expect(latest.stderr).toBe('');
    expect(latest.code).toBe(0);
    expect(await labels(withDatabase(fbms, 'fbms_latest_tl2'))).toEqual(['seed', ...before, 'on-timeline-2']);
  }, 600_000);

  it('in place: the live database becomes the state at the time, the previous one is kept', async () => {
    const result = await bantay(['restore', '--time', cut.toISOString(), '--in-place', '--yes', '--json'], env, p.dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { restore: { keptAs: string; safetyBackupId: string } };
    expect(await labels(fbms)).toEqual(['seed', ...before]);
    expect(await labels(withDatabase(fbms, report.restore.keptAs))).toContain('bad-price-update');
    expect(report.restore.safetyBackupId).toMatch(/^db-/);
  }, 300_000);
});
