import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLease, latestFires, releaseLease, renewLease } from '../../src/schedule/lease.ts';
import { openStateDb, type StateDb } from '../../src/state/state-db.ts';
import { createDatabase } from '../support/databases.ts';
import { tempDir } from '../support/job-deps.ts';

const fire = (s: number) => new Date(Date.UTC(2026, 10, 26, 18, 0, s));

async function exercise(a: StateDb, b: StateDb): Promise<void> {
  const job = `job-${Math.random().toString(36).slice(2)}`;
  // Exactly once per fire: whoever inserts first owns it, the other sees it taken.
  expect(await acquireLease(a, { job, fireAt: fire(0), owner: 'A', ttlMs: 60_000 })).toEqual({ acquired: true });
  expect(await acquireLease(b, { job, fireAt: fire(0), owner: 'B', ttlMs: 60_000 })).toEqual({ acquired: false, reason: 'taken', owner: 'A' });
  // No overlap: the next fire is refused while the previous run holds its lease...
  const busy = await acquireLease(b, { job, fireAt: fire(1), owner: 'B', ttlMs: 60_000 });
  expect(busy).toMatchObject({ acquired: false, reason: 'busy', owner: 'A' });
  // ...and that skipped fire is not run later by anyone.
  await releaseLease(a, { job, fireAt: fire(0), owner: 'A' }, { status: 'succeeded' });
  expect(await acquireLease(a, { job, fireAt: fire(1), owner: 'A', ttlMs: 60_000 })).toMatchObject({ acquired: false, reason: 'taken' });
  // After release the next fire runs.
  expect(await acquireLease(b, { job, fireAt: fire(2), owner: 'B', ttlMs: 60_000 })).toEqual({ acquired: true });
  expect(await renewLease(b, { job, fireAt: fire(2), owner: 'B', ttlMs: 60_000 })).toBe(true);
  expect(await renewLease(a, { job, fireAt: fire(2), owner: 'A', ttlMs: 60_000 })).toBe(false);
  await releaseLease(b, { job, fireAt: fire(2), owner: 'B' }, { status: 'failed', errorMessage: 'boom' });
  const latest = (await latestFires(a)).find((f) => f.job === job);
  expect(latest).toMatchObject({ status: 'failed', errorMessage: 'boom', owner: 'B', abandoned: false });
  expect(latest?.fireAt.toISOString()).toBe(fire(2).toISOString());
}

async function expiry(a: StateDb, b: StateDb): Promise<void> {
  const job = `job-${Math.random().toString(36).slice(2)}`;
  // A dies right after acquiring: no heartbeat, no release.
  expect(await acquireLease(a, { job, fireAt: fire(0), owner: 'A', ttlMs: 600 })).toEqual({ acquired: true });
  expect(await acquireLease(b, { job, fireAt: fire(1), owner: 'B', ttlMs: 600 })).toMatchObject({ reason: 'busy' });
  expect((await latestFires(b)).find((f) => f.job === job)).toMatchObject({ status: 'running' });
  await sleep(800);
  expect((await latestFires(b)).find((f) => f.job === job)).toMatchObject({ status: 'abandoned', abandoned: true, owner: 'A' });
  // The lease expired: the next fire runs elsewhere, and A's late heartbeat finds it lost.
  expect(await acquireLease(b, { job, fireAt: fire(2), owner: 'B', ttlMs: 600 })).toEqual({ acquired: true });
  expect(await renewLease(a, { job, fireAt: fire(0), owner: 'A', ttlMs: 600 })).toBe(false);
  const rows = await b.query<{ fire_at: Date; status: string }>('SELECT fire_at, status FROM schedule_leases WHERE job = $1 ORDER BY fire_at', [job]);
  expect(rows.map((r) => r.status)).toEqual(['abandoned', 'skipped', 'running']);
}

describe('schedule leases on PostgreSQL (two connections, as two replicas)', () => {
  let a: StateDb;
  let b: StateDb;
  beforeAll(async () => {
    const url = await createDatabase();
    [a, b] = await Promise.all([openStateDb({ url, dataDir: '/nonexistent' }), openStateDb({ url, dataDir: '/nonexistent' })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('each fire is owned once, never overlaps, and is released with its outcome', () => exercise(a, b));
  it('a lease that is not renewed expires and the next fire runs', () => expiry(a, b));

  it('concurrent replicas racing for the same fire: exactly one wins', async () => {
    const job = 'race';
    for (let s = 0; s < 10; s++) {
      const results = await Promise.all([a, b, a, b].map((db, i) => acquireLease(db, { job, fireAt: fire(s), owner: `R${i}`, ttlMs: 60_000 })));
      const winners = results.filter((r) => r.acquired);
      expect(winners).toHaveLength(1);
      const owner = (await a.query<{ owner: string }>('SELECT owner FROM schedule_leases WHERE job = $1 AND fire_at = $2', [job, fire(s)]))[0]!.owner;
      await releaseLease(a, { job, fireAt: fire(s), owner }, { status: 'succeeded' });
    }
  });
});

describe('schedule leases on embedded PGlite (one process)', () => {
  it('behave the same', async () => {
    const db = await openStateDb({ url: undefined, dataDir: tempDir() });
    await exercise(db, db);
    await expiry(db, db);
    await db.close();
  });
});
