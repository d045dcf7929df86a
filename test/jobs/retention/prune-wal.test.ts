import { writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { baseArtifactKey, listBaseBackups, newBaseId, writeBaseManifest, type BaseManifest } from '../../../src/jobs/base-backup/base-manifest.ts';
import { summarizeArchive } from '../../../src/jobs/pitr/archive-summary.ts';
import { planPointInTime } from '../../../src/jobs/pitr/plan-pitr.ts';
import { DEFAULT_RETENTION_POLICY } from '../../../src/jobs/retention/plan-retention.ts';
import { runWalPrune } from '../../../src/jobs/retention/prune-wal.ts';
import { requireIdentity } from '../../../src/jobs/wal/archive-identity.ts';
import { walDir } from '../../../src/jobs/wal/archive-layout.ts';
import { pushWalFile } from '../../../src/jobs/wal/push-wal.ts';
import { historyFileName, segmentName } from '../../../src/jobs/wal/wal-names.ts';
import { listAudit } from '../../../src/state/audit-log.ts';
import type { ObjectStore } from '../../../src/storage/object-store.ts';
import { createS3Store } from '../../../src/storage/s3-store.ts';
import type { JobDeps } from '../../../src/jobs/job-context.ts';
import { keysOf } from '../../support/fake-backups.ts';
import { cliTrigger, makeDeps, tempDir } from '../../support/job-deps.ts';
import { createTestBucket, TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../../support/s3-server.ts';

const SYSID = '7300000000000000042';
const SEG = 16 * 1024 * 1024;
const seg = (tli: number, n: number) => segmentName(tli, BigInt(n));

/** A file with a WAL long page header (wal-header.ts) of this cluster: what `wal push` checks. */
async function walFile(dir: string, name: string, tli: number): Promise<string> {
  const page = Buffer.alloc(8192);
  page.writeUInt16LE(0xd110, 0);
  page.writeUInt16LE(0x0002, 2);
  page.writeUInt32LE(tli, 4);
  page.writeBigUInt64LE(BigInt(SYSID), 24);
  page.writeUInt32LE(SEG, 32);
  page.write(name, 100);
  const path = join(dir, name);
  await writeFile(path, page);
  return path;
}

async function putBase(store: ObjectStore, deps: JobDeps, at: Date, tli: number, from: number): Promise<BaseManifest> {
  const id = newBaseId(at);
  const key = baseArtifactKey(id, false, 'none');
  await store.put(key, Readable.from([Buffer.from('tar')]));
  const hex = '0'.repeat(64);
  const manifest: BaseManifest = {
    formatVersion: 1, kind: 'base', id, createdAt: at.toISOString(), completedAt: at.toISOString(), durationSeconds: 1, trigger: cliTrigger,
    source: { host: 'db', serverVersion: '15' }, systemIdentifier: SYSID, pgMajor: 15, timeline: tli,
    startLsn: `0/${(from * SEG).toString(16).toUpperCase()}`, stopLsn: `0/${((from + 1) * SEG).toString(16).toUpperCase()}`,
    walFrom: seg(tli, from), walTo: seg(tli, from + 1), consistentAt: at.toISOString(), tools: {},
    artifact: { key, format: 'pg_basebackup-tar', compression: 'none', sizeBytes: 3, sha256: hex, plainSizeBytes: 3, plainSha256: hex, encryption: null },
  };
  await writeBaseManifest(store, manifest, deps);
  return manifest;
}

/**
 * Timeline 1 segments 1..12, a promotion to timeline 2 at segment 10 (2.history), timeline 2
 * segments 10..14; base backups 20 days (expired), 9 days (the window anchor, from segment 5)
 * and 2 days old (timeline 2); plus objects Bantay did not write.
 */
async function seedArchive(deps: JobDeps, now: Date) {
  const dir = tempDir('bantay-walprune-');
  const ago = (days: number) => new Date(now.getTime() - days * 86_400_000);
  const push = async (name: string, tli: number) => pushWalFile(await walFile(dir, name, tli), deps, { via: 'push' });
  await push(seg(1, 1), 1);
  const history = join(dir, historyFileName(2));
  await writeFile(history, `1\t0/${(10 * SEG).toString(16).toUpperCase()}\tno recovery target specified\n`);
  for (let n = 2; n <= 12; n += 1) await push(seg(1, n), 1);
  await pushWalFile(history, deps, { via: 'push' });
  for (let n = 10; n <= 14; n += 1) await push(seg(2, n), 2);
  const foreign = [`${walDir(SYSID)}README.txt`, `${walDir(SYSID)}${seg(1, 1)}.copy`, `${walDir(SYSID)}other/${seg(1, 2)}.json`, 'base/notes.txt'];
  for (const key of foreign) await deps.store.put(key, Readable.from([Buffer.from('not ours')]));
  const old = await putBase(deps.store, deps, ago(20), 1, 2);
  await deps.store.put(`base/${old.id}/operator-notes.txt`, Readable.from([Buffer.from('not ours')]));
  foreign.push(`base/${old.id}/operator-notes.txt`);
  const anchor = await putBase(deps.store, deps, ago(9), 1, 5);
  const recent = await putBase(deps.store, deps, ago(2), 2, 12);
  return { old, anchor, recent, foreign };
}

const policy = { ...DEFAULT_RETENTION_POLICY, dailyDays: 7, weeklyWeeks: 2, monthlyMonths: 0 };

async function pruneKeepsExactlyTheWindow(store?: ObjectStore) {
  const { deps, close } = await makeDeps(store ? { store } : {});
  const now = new Date();
  deps.now = () => now;
  const s = await seedArchive(deps, now);
  const dry = await runWalPrune({ policy, timezone: 'UTC', retentionDays: 7, dryRun: true, trigger: cliTrigger, inUse: [] }, deps);
  expect(dry.plan.anchor).toBe(s.anchor.id);
  const before = await keysOf(deps.store);

  const result = await runWalPrune({ policy, timezone: 'UTC', retentionDays: 7, dryRun: false, trigger: cliTrigger, inUse: [] }, deps);
  expect(result.failed).toEqual([]);
  const gone = [seg(1, 1), seg(1, 2), seg(1, 3), seg(1, 4)];
  expect(result.deleted.filter((d) => d.type === 'wal').map((d) => d.id).sort()).toEqual(gone);
  expect(result.deleted.filter((d) => d.type === 'base').map((d) => d.id)).toEqual([s.old.id]);
  const after = await keysOf(deps.store);
  const removed = before.filter((k) => !after.includes(k)).sort();
  // Exactly the record and bytes of each expired file and the expired base backup's objects.
  expect(removed).toEqual([
    `base/${s.old.id}/base.tar`, `base/${s.old.id}/manifest.json`,
    ...gone.flatMap((n) => [`${walDir(SYSID)}${n}.gz.enc`, `${walDir(SYSID)}${n}.json`]),
  ].sort());
  for (const key of s.foreign) expect(after).toContain(key);
  expect(after).toContain(`${walDir(SYSID)}${historyFileName(2)}.json`);

  // What remains recovers every second of the window, across the promotion.
  const identity = await requireIdentity(deps.store, deps);
  const summary = await summarizeArchive(identity, deps);
  const bases = await listBaseBackups(deps.store, deps);
  const start = new Date(now.getTime() - 7 * 86_400_000);
  const plan = planPointInTime(bases, summary, start, (d) => d.toISOString());
  expect(plan.base.id).toBe(s.anchor.id);
  expect(plan.timeline).toBe(2);
  expect(planPointInTime(bases, summary, 'latest', (d) => d.toISOString()).window.from.getTime()).toBeLessThanOrEqual(start.getTime());

  const audit = (await listAudit(deps.state)).filter((a) => a.operationType === 'prune');
  expect(audit.map((a) => a.backupType).sort()).toEqual(['base', 'wal']);
  const [row] = await deps.state.query<{ details: Record<string, unknown> }>(`SELECT details FROM backup_audit WHERE backup_type = $1`, ['wal']);
  expect(row!.details).toMatchObject({ deleted: 4, first: seg(1, 1), last: seg(1, 4), anchor: s.anchor.id, keepFrom: seg(1, 5) });

  // A second prune finds nothing more to delete.
  const again = await runWalPrune({ policy, timezone: 'UTC', retentionDays: 7, dryRun: false, trigger: cliTrigger, inUse: [] }, deps);
  expect(again.deleted).toEqual([]);
  await close();
}

describe('runWalPrune against a real store', () => {
  it('local directory store: deletes only WAL before the window anchor and the expired base backup, nothing foreign', async () => {
    await pruneKeepsExactlyTheWindow();
  });

  it('S3 test server: the same', async () => {
    const endpoint = inject('s3Endpoint');
    const bucket = await createTestBucket(endpoint);
    await pruneKeepsExactlyTheWindow(createS3Store({ bucket, prefix: 'fbms', endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS }));
  });

  it('without any base backup deletes no WAL', async () => {
    const { deps, close } = await makeDeps();
    const dir = tempDir('bantay-walprune-');
    for (let n = 1; n <= 3; n += 1) await pushWalFile(await walFile(dir, seg(1, n), 1), deps, { via: 'push' });
    const before = await keysOf(deps.store);
    const result = await runWalPrune({ policy, timezone: 'UTC', retentionDays: 7, dryRun: false, trigger: cliTrigger, inUse: [] }, deps);
    expect(result.deleted).toEqual([]);
    expect(result.plan.wal.every((d) => d.action === 'keep' && /no base backup/.test(d.reasons[0]!))).toBe(true);
    expect(await keysOf(deps.store)).toEqual(before);
    await close();
  });
});
