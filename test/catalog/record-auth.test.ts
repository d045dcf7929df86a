import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { findBackup, readCatalog, readManifestEntry, writeManifest } from '../../src/catalog/catalog.ts';
import { canonicalJson } from '../../src/catalog/jcs.ts';
import { readJsonRecord, writeJsonRecord, type RecordTrust } from '../../src/catalog/json-record.ts';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { canonicalBody, recordTag, signRecord } from '../../src/catalog/record-auth.ts';
import { KeyRing, parseKey } from '../../src/crypto/keys.ts';
import { ErrorCode } from '../../src/errors.ts';
import { runChecks } from '../../src/jobs/monitor/checks.ts';
import { gatherOpsSnapshot, toMonitorInput } from '../../src/jobs/ops-snapshot.ts';
import { recordAudit } from '../../src/state/audit-log.ts';
import { findVanishedBackups, noteAuthenticatedWrite } from '../../src/state/catalog-trust.ts';
import { createMemoryStore } from '../../src/storage/memory-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { makeDeps, newKey } from '../support/job-deps.ts';
import { NO_KEY } from '../support/trust.ts';

/** docs/vectors/format2.json: produced by docs/vectors/make-vectors.py, an independent implementation. */
const vectors = JSON.parse(readFileSync(new URL('../../docs/vectors/format2.json', import.meta.url), 'utf8')) as {
  masterKeyBase64: string;
  record: { objectKey: string; value: Record<string, unknown>; canonical: string; auth: Record<string, unknown> };
};
const master = parseKey(vectors.masterKeyBase64);

describe('record authentication known-answer vector', () => {
  it('canonicalises the record exactly as RFC 8785 (the Python implementation) does', () => {
    expect(canonicalBody(vectors.record.value)).toBe(vectors.record.canonical);
    expect(canonicalJson({ b: [1, 'x', null, true], a: { d: -2.5, c: {} } })).toBe('{"a":{"c":{},"d":-2.5},"b":[1,"x",null,true]}');
  });

  it('computes the vector tag, and signRecord makes the vector auth member', () => {
    expect(recordTag(master.key, vectors.record.objectKey, vectors.record.value)).toBe(vectors.record.auth.tag);
    expect(signRecord(master, vectors.record.objectKey, vectors.record.value).auth).toEqual(vectors.record.auth);
  });

  it('a reader accepts the vector record (as stored by the other implementation) at its key only', async () => {
    const store = createMemoryStore();
    const body = `${JSON.stringify({ ...vectors.record.value, auth: vectors.record.auth }, null, 2)}\n`;
    await store.put(vectors.record.objectKey, Readable.from([Buffer.from(body)]));
    const trust: RecordTrust = { keyRing: new KeyRing(master, []), now: () => new Date('2026-11-26T03:00:00Z') };
    const names = { missing: 'x', record: 'The vector record' };
    const read = await readJsonRecord(store, vectors.record.objectKey, (await import('zod')).z.object({ id: (await import('zod')).z.string() }), names, trust);
    expect(read.authenticity).toEqual({ state: 'authenticated', keyId: master.id });
    const moved = vectors.record.objectKey.replace('7f3a', '7f3b');
    await store.put(moved, Readable.from([Buffer.from(body)]));
    await expect(readJsonRecord(store, moved, (await import('zod')).z.object({}), names, trust)).rejects.toMatchObject({ verdict: 'rejected', code: ErrorCode.Integrity });
  });
});

function manifestOf(id: string, createdAt: Date, encryption: Manifest['artifact']['encryption'], formatVersion: 1 | 2 = 2): Manifest {
  return {
    formatVersion,
    id,
    kind: 'database',
    createdAt: createdAt.toISOString(),
    completedAt: createdAt.toISOString(),
    durationSeconds: 1,
    trigger: { by: 'cli:test', via: 'cli' },
    source: { host: 'db', database: 'fbms' },
    tools: { bantay: 'test' },
    artifact: { key: `backups/${id}/database.dump.enc`, format: 'pg_dump-custom', sizeBytes: 10, sha256: 'a'.repeat(64), plainSizeBytes: 10, plainSha256: 'b'.repeat(64), encryption },
  };
}

/** Writes a record as an attacker without the key would: any JSON, no tag. */
async function plant(store: ObjectStore, key: string, value: unknown): Promise<void> {
  await store.put(key, Readable.from([Buffer.from(typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`)]));
}

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');

describe('the catalog with a key configured', () => {
  it('lists authenticated manifests; rejects forged, unencrypted, moved, foreign-artifact and future ones; marks damaged ones', async () => {
    const { deps, close } = await makeDeps({ store: createMemoryStore() });
    const key = deps.keyRing.primary!;
    const enc = { algorithm: 'AES-256-GCM-STREAM-v2', keyId: key.id };
    try {
      const good = manifestOf(`db-${stamp(hoursAgo(5))}-0001`, hoursAgo(5), enc);
      await writeManifest(deps.store, good, deps);
      const stored = JSON.parse(await text(await deps.store.get(`backups/${good.id}/manifest.json`))) as Record<string, unknown>;
      expect(stored.auth).toMatchObject({ v: 1, alg: 'HMAC-SHA256', keyId: key.id });

      const forgedId = `db-${stamp(hoursAgo(1))}-0002`;
      await plant(deps.store, `backups/${forgedId}/manifest.json`, manifestOf(forgedId, hoursAgo(1), null));
      const copiedTag = `db-${stamp(hoursAgo(2))}-0003`;
      await plant(deps.store, `backups/${copiedTag}/manifest.json`, { ...stored, id: copiedTag, artifact: { ...(stored.artifact as object), key: `backups/${copiedTag}/database.dump.enc` } });
      const movedId = `db-${stamp(hoursAgo(3))}-0004`;
      await plant(deps.store, `backups/${movedId}/manifest.json`, stored);
      const tamperedFields = { ...stored, artifact: { ...(stored.artifact as object), sha256: 'c'.repeat(64) } };
      const swapped = `db-${stamp(hoursAgo(4))}-0005`;
      const swappedManifest = manifestOf(swapped, hoursAgo(4), enc);
      await writeManifest(deps.store, swappedManifest, deps);
      const swappedStored = JSON.parse(await text(await deps.store.get(`backups/${swapped}/manifest.json`))) as Record<string, unknown>;
      await plant(deps.store, `backups/${swapped}/manifest.json`, { ...swappedStored, artifact: { ...(tamperedFields.artifact as object), key: `backups/${swapped}/database.dump.enc` } });
      const truncatedId = `db-${stamp(hoursAgo(6))}-0006`;
      await plant(deps.store, `backups/${truncatedId}/manifest.json`, JSON.stringify(stored).slice(0, 80));

      const entries = await readCatalog(deps.store, deps);
      const byId = new Map(entries.map((e) => [e.id, e]));
      expect(byId.get(good.id)).toMatchObject({ status: 'listed', authenticity: { state: 'authenticated', keyId: key.id } });
      expect(byId.get(forgedId)).toMatchObject({ status: 'rejected', reason: 'it carries no authentication tag' });
      expect(byId.get(copiedTag)).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/does not verify/) });
      expect(byId.get(movedId)).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/does not verify/) });
      expect(byId.get(swapped)).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/does not verify/) });
      expect(byId.get(truncatedId)).toMatchObject({ status: 'damaged', reason: expect.stringMatching(/not valid JSON/) });
      // "latest" is the forged one (newest): refused, never an older one silently.
      await expect(findBackup(deps.store, deps, 'latest')).rejects.toMatchObject({ verdict: 'rejected', message: expect.stringMatching(new RegExp(`${forgedId}.*REJECTED.*Not taking an older backup`)) });
      await expect(findBackup(deps.store, deps, forgedId)).rejects.toMatchObject({ code: ErrorCode.Integrity });
      expect((await findBackup(deps.store, deps, good.id)).id).toBe(good.id);

      // Signed by the key but naming an artifact elsewhere, or dated in the future: rejected.
      const outside = manifestOf(`db-${stamp(hoursAgo(7))}-0007`, hoursAgo(7), enc);
      await writeManifest(deps.store, { ...outside, artifact: { ...outside.artifact, key: `backups/${good.id}/database.dump.enc` } }, deps);
      const future = manifestOf(`db-${stamp(hoursAgo(8))}-0008`, new Date(Date.now() + 3_600_000), enc);
      await writeManifest(deps.store, future, deps);
      const unencrypted = manifestOf(`db-${stamp(hoursAgo(9))}-0009`, hoursAgo(9), null);
      await writeManifest(deps.store, unencrypted, deps);
      await expect(readManifestEntry(deps.store, deps, outside.id)).rejects.toMatchObject({ reason: expect.stringMatching(/artifact.key names an artifact outside backups\/db-.*-0007\//) });
      await expect(readManifestEntry(deps.store, deps, future.id)).rejects.toMatchObject({ reason: expect.stringMatching(/in the future/) });
      await expect(readManifestEntry(deps.store, deps, unencrypted.id)).rejects.toMatchObject({ reason: expect.stringMatching(/artifact.encryption is null/) });
    } finally {
      await close();
    }
  });

  it('reads legacy formatVersion 1 manifests with a warning until an authenticated record was written after them', async () => {
    const { deps, close } = await makeDeps({ store: createMemoryStore() });
    const enc = { algorithm: 'AES-256-GCM-STREAM-v1', keyId: deps.keyRing.primary!.id };
    try {
      const old = manifestOf(`db-${stamp(hoursAgo(48))}-0001`, hoursAgo(48), enc, 1);
      await plant(deps.store, `backups/${old.id}/manifest.json`, old);
      expect(await readManifestEntry(deps.store, deps, old.id)).toMatchObject({ authenticity: { state: 'legacy' } });
      const oldPlain = manifestOf(`db-${stamp(hoursAgo(47))}-0002`, hoursAgo(47), null, 1);
      await plant(deps.store, `backups/${oldPlain.id}/manifest.json`, oldPlain);
      await expect(readManifestEntry(deps.store, deps, oldPlain.id)).rejects.toMatchObject({ verdict: 'rejected', reason: expect.stringMatching(/encryption is null/) });

      await noteAuthenticatedWrite(deps.state, hoursAgo(24));
      // Dated before the first authenticated write: still legacy. After it: no Bantay wrote it.
      expect(await readManifestEntry(deps.store, deps, old.id)).toMatchObject({ authenticity: { state: 'legacy' } });
      const late = manifestOf(`db-${stamp(hoursAgo(1))}-0003`, hoursAgo(1), enc, 1);
      await plant(deps.store, `backups/${late.id}/manifest.json`, late);
      await expect(readManifestEntry(deps.store, deps, late.id)).rejects.toMatchObject({ verdict: 'rejected', reason: expect.stringMatching(/not authenticated but dated .* after this installation started authenticating/) });
    } finally {
      await close();
    }
  });

  it('a record made under a key that is not configured is rejected', async () => {
    const store = createMemoryStore();
    const other = newKey();
    const m = manifestOf(`db-${stamp(hoursAgo(2))}-0001`, hoursAgo(2), { algorithm: 'AES-256-GCM-STREAM-v2', keyId: other.id });
    await writeManifest(store, m, { keyRing: new KeyRing(other, []) });
    await expect(readManifestEntry(store, { keyRing: new KeyRing(newKey(), []) }, m.id)).rejects.toMatchObject({ reason: expect.stringMatching(/made with key k1:[0-9a-f]{16}, which is not configured/) });
    // A retired key still verifies what it signed.
    expect((await readManifestEntry(store, { keyRing: new KeyRing(newKey(), [other]) }, m.id)).authenticity).toEqual({ state: 'authenticated', keyId: other.id });
  });
});

describe('the catalog without a key', () => {
  it('writes no tag and reads everything as unchecked', async () => {
    const store = createMemoryStore();
    const m = manifestOf(`db-${stamp(hoursAgo(2))}-0001`, hoursAgo(2), null);
    await writeManifest(store, m, NO_KEY);
    const stored = JSON.parse(await text(await store.get(`backups/${m.id}/manifest.json`))) as Record<string, unknown>;
    expect(stored.auth).toBeUndefined();
    expect(await readManifestEntry(store, NO_KEY, m.id)).toMatchObject({ authenticity: { state: 'unchecked' } });
    await writeJsonRecord(store, 'sets/x/set.json', { a: 1 }, NO_KEY);
    expect(await text(await store.get('sets/x/set.json'))).toBe('{\n  "a": 1\n}\n');
  });
});

describe('damaged and vanished backups', () => {
  it('are alerted by monitoring; a pruned backup is not "vanished"', async () => {
    const { deps, close } = await makeDeps({ store: createMemoryStore() });
    const enc = { algorithm: 'AES-256-GCM-STREAM-v2', keyId: deps.keyRing.primary!.id };
    try {
      const kept = manifestOf(`db-${stamp(hoursAgo(5))}-0001`, hoursAgo(5), enc);
      const gone = manifestOf(`db-${stamp(hoursAgo(3))}-0002`, hoursAgo(3), enc);
      const pruned = manifestOf(`db-${stamp(hoursAgo(4))}-0003`, hoursAgo(4), enc);
      for (const m of [kept, gone, pruned]) await writeManifest(deps.store, m, deps);
      await readCatalog(deps.store, deps);
      await deps.store.delete(`backups/${gone.id}/manifest.json`);
      await deps.store.delete(`backups/${pruned.id}/manifest.json`);
      await recordAudit(deps.state, { operationType: 'prune', status: 'succeeded', performedBy: 'schedule', backupId: pruned.id });
      const damagedId = `db-${stamp(hoursAgo(1))}-0004`;
      await plant(deps.store, `backups/${damagedId}/manifest.json`, '{"formatVersion": 2, "id": "');
      expect((await findVanishedBackups(deps.state, deps.store.description, new Set([kept.id]))).map((v) => v.id)).toEqual([gone.id]);

      const snapshot = await gatherOpsSnapshot({ store: deps.store, state: deps.state, keyRing: deps.keyRing });
      expect(snapshot.refused).toEqual([{ id: damagedId, kind: 'database', status: 'damaged', reason: expect.stringMatching(/not valid JSON/) }]);
      expect(snapshot.vanished.map((v) => v.id)).toEqual([gone.id]);
      const problems = runChecks(toMonitorInput(snapshot, {
        schedule: { database: null, application: null, uploads: null, full: null, retention: null, sync: null, monitor: null, drill: null } as never,
        timezone: 'Asia/Manila',
        thresholds: { graceSeconds: 3600, minBackupBytes: { database: 0, application: 0, uploads: 0 }, sizeDropPercent: 50, stuckJobSeconds: 21600, secondaryMaxLagSeconds: 86400 },
      }));
      expect(problems.map((p) => p.key).sort()).toEqual(['catalog-damaged', 'catalog-vanished']);
      expect(problems.find((p) => p.key === 'catalog-vanished')!.text).toContain(gone.id);
      await expect(findBackup(deps.store, deps, 'latest')).rejects.toMatchObject({ verdict: 'damaged', message: expect.stringContaining(damagedId) });
    } finally {
      await close();
    }
  });
});
