import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { latestFires } from '../../src/schedule/lease.ts';
import { startScheduler, type Scheduler, type ScheduledJobRunner } from '../../src/schedule/scheduler.ts';
import { DEFAULT_SCHEDULE, type ScheduleConfig } from '../../src/schedule/schedule-config.ts';
import { openStateDb, type StateDb } from '../../src/state/state-db.ts';
import { createDatabase } from '../support/databases.ts';

const logger = createLogger({ level: 'silent' });
const everySecond = (): ScheduleConfig => ({ ...(Object.fromEntries(Object.keys(DEFAULT_SCHEDULE).map((j) => [j, null])) as ScheduleConfig), monitor: '* * * * * *' });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
});

async function replica(url: string, owner: string, runner: ScheduledJobRunner, leaseMs = 2000): Promise<{ db: StateDb; scheduler: Scheduler }> {
  const db = await openStateDb({ url, dataDir: '/nonexistent' });
  const scheduler = startScheduler({ schedule: everySecond(), timezone: 'Asia/Manila', state: db, logger, owner, leaseMs, heartbeatMs: 250, jobs: { monitor: runner } });
  cleanups.push(async () => {
    await scheduler.stop({ timeoutMs: 3000 });
    await db.close();
  });
  return { db, scheduler };
}

interface RunRecord {
  owner: string;
  fireAt: string;
  start: number;
  end: number;
}

describe('the scheduler with two replicas on one state database', () => {
  it('runs each fire exactly once across replicas, with the schedule trigger', async () => {
    const url = await createDatabase();
    const runs: RunRecord[] = [];
    const make = (owner: string): ScheduledJobRunner => async ({ fireAt, trigger }) => {
      expect(trigger).toEqual({ by: 'schedule', via: 'schedule' });
      const start = Date.now();
      await sleep(200);
      runs.push({ owner, fireAt: fireAt.toISOString(), start, end: Date.now() });
    };
    await Promise.all([replica(url, 'A', make('A')), replica(url, 'B', make('B'))]);
    await sleep(5200);
    const fires = runs.map((r) => r.fireAt);
    expect(fires.length).toBeGreaterThanOrEqual(3);
    expect(new Set(fires).size).toBe(fires.length);
    // Fire slots are whole seconds, as node-cron computes them, identical on both replicas.
    expect(fires.every((f) => f.endsWith(':00.000Z') || /\.000Z$/.test(f))).toBe(true);
  });

  it('never overlaps runs of the same job across replicas; the fires in between are skipped and recorded', async () => {
    const url = await createDatabase();
    const runs: RunRecord[] = [];
    const make = (owner: string): ScheduledJobRunner => async ({ fireAt }) => {
      const start = Date.now();
      await sleep(2300);
      runs.push({ owner, fireAt: fireAt.toISOString(), start, end: Date.now() });
    };
    const [{ db }] = await Promise.all([replica(url, 'A', make('A')), replica(url, 'B', make('B'))]);
    await sleep(7500);
    const sorted = [...runs].sort((a, b) => a.start - b.start);
    expect(sorted.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end);
    const skipped = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM schedule_leases WHERE job = 'monitor' AND status = 'skipped'`);
    expect(Number(skipped[0]!.n)).toBeGreaterThan(0);
  });

  it('a replica killed mid-run (SIGKILL) blocks the job only until its lease expires; then another replica runs it', async () => {
    const url = await createDatabase();
    await (await openStateDb({ url, dataDir: '/nonexistent' })).close(); // migrate before the child starts
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../support/scheduler-replica.ts', import.meta.url))], {
      env: { ...process.env, STATE_URL: url, LEASE_MS: '1500', HEARTBEAT_MS: '300' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    cleanups.push(async () => void child.kill('SIGKILL'));
    const started = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /STARTED (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`replica exited early (${code})`)));
      setTimeout(() => reject(new Error('replica did not start a run')), 20_000);
    });
    const runs: RunRecord[] = [];
    const { db } = await replica(url, 'B', async ({ fireAt }) => void runs.push({ owner: 'B', fireAt: fireAt.toISOString(), start: Date.now(), end: Date.now() }), 1500);
    // While the child heart-beats, its run blocks every later fire.
    await sleep(2500);
    expect(runs).toEqual([]);
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((resolve) => child.once('exit', resolve));
    // Lease TTL 1.5 s after the last heartbeat (<= 0.3 s before the kill), then the next fire.
    for (let i = 0; i < 80 && runs.length === 0; i++) await sleep(100);
    expect(runs.length).toBeGreaterThan(0);
    expect(Date.parse(runs[0]!.fireAt)).toBeGreaterThan(Date.parse(started));
    expect(runs[0]!.start - killedAt).toBeLessThan(6000);
    const rows = await db.query<{ status: string; owner: string }>('SELECT status, owner FROM schedule_leases WHERE job = $1 AND fire_at = $2', ['monitor', new Date(started)]);
    expect(rows).toEqual([{ status: 'abandoned', owner: 'child' }]);
    expect((await latestFires(db)).find((f) => f.job === 'monitor')?.owner).toBe('B');
  });

  it('stop() aborts a running job and releases its lease as aborted', async () => {
    const url = await createDatabase();
    let sawAbort = false;
    const db = await openStateDb({ url, dataDir: '/nonexistent' });
    const scheduler = startScheduler({
      schedule: everySecond(),
      timezone: 'Asia/Manila',
      state: db,
      logger,
      owner: 'S',
      jobs: {
        monitor: ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(signal.reason);
          })),
      },
    });
    for (let i = 0; i < 30 && scheduler.running().length === 0; i++) await sleep(100);
    expect(scheduler.running()).toHaveLength(1);
    await scheduler.stop();
    expect(sawAbort).toBe(true);
    const [fire] = await latestFires(db);
    expect(fire).toMatchObject({ job: 'monitor', status: 'aborted', owner: 'S' });
    await db.close();
  });

  it('a fire whose lease was still being taken when stop() was called does not run after the stop', async () => {
    const url = await createDatabase();
    const db = await openStateDb({ url, dataDir: '/nonexistent' });
    let entered: (() => void) | undefined;
    const taking = new Promise<void>((resolve) => (entered = resolve));
    // A slow state database: the lease transaction takes half a second.
    const slow: StateDb = {
      kind: db.kind,
      query: (sql, params) => db.query(sql, params),
      close: () => db.close(),
      transaction: async (fn) => {
        entered?.();
        await sleep(500);
        return db.transaction(fn);
      },
    };
    const ran: string[] = [];
    const scheduler = startScheduler({ schedule: everySecond(), timezone: 'Asia/Manila', state: slow, logger, owner: 'S', jobs: { monitor: async ({ fireAt }) => void ran.push(fireAt.toISOString()) } });
    await taking;
    await scheduler.stop();
    // stop() waited for the lease being taken, and gave it back: nothing is left to happen.
    expect((await db.query<{ status: string }>(`SELECT status FROM schedule_leases WHERE job = 'monitor'`)).map((r) => r.status)).toEqual(['aborted']);
    await sleep(1200);
    expect(ran).toEqual([]);
    const rows = await db.query<{ status: string }>(`SELECT status FROM schedule_leases WHERE job = 'monitor' AND status <> 'aborted'`);
    expect(rows).toEqual([]);
    await db.close();
  });
});
