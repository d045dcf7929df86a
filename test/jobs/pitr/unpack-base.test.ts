import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { keyId } from '../../../src/crypto/keys.ts';
import { findOnPath } from '../../../src/jobs/base-backup/inflate-stage.ts';
import type { BaseManifest } from '../../../src/jobs/base-backup/base-manifest.ts';
import { putSealed } from '../../../src/jobs/files/sealed-object.ts';
import { unpackBase } from '../../../src/jobs/pitr/unpack-base.ts';
import { WAL_ENCRYPTION } from '../../../src/jobs/wal/push-wal.ts';
import { FORMAT1_VECTOR, FORMAT1_VECTOR_KEY } from '../../crypto/crypto-helpers.ts';
import { makeDeps, tempDir } from '../../support/job-deps.ts';
import { craftArchive, type CraftedEntry } from '../../support/tar-craft.ts';

const zstd = await findOnPath('zstd');
if (zstd === null) throw new Error('these tests need the zstd program (Debian package zstd)');

/** A base backup of `tar` (zstd-compressed, sealed into the deps' store) and the manifest fields unpackBase reads. */
async function storeBase(deps: Awaited<ReturnType<typeof makeDeps>>['deps'], tar: Buffer, id = 'base-20261207T000000Z-0001'): Promise<BaseManifest> {
  const compressed = spawnSync(zstd!, ['-1', '-c', '-q'], { input: tar, maxBuffer: 64 * 1024 * 1024 }).stdout;
  const encrypted = deps.keyRing.primary !== undefined;
  const key = `base/${id}/base.tar.zst${encrypted ? '.enc' : ''}`;
  const sealed = await putSealed(Readable.from([compressed]), [], key, deps);
  return {
    id,
    artifact: {
      key,
      sizeBytes: sealed.sizeBytes,
      sha256: sealed.sha256,
      plainSizeBytes: sealed.plainSizeBytes,
      plainSha256: sealed.plainSha256,
      compression: 'zstd',
      encryption: encrypted ? { algorithm: WAL_ENCRYPTION, keyId: deps.keyRing.primary!.id } : null,
    },
  } as unknown as BaseManifest;
}

/** Runs `check` against a store with an encryption key and against one without. */
async function bothStores(check: (deps: Awaited<ReturnType<typeof makeDeps>>['deps'], encrypted: boolean) => Promise<void>): Promise<void> {
  for (const encrypted of [false, true]) {
    const { deps, close } = await makeDeps(encrypted ? {} : { key: null });
    try {
      await check(deps, encrypted);
    } finally {
      await close();
    }
  }
}

const cluster: CraftedEntry[] = [
  { path: 'base/', type: 'Directory', mode: 0o700 },
  { path: 'base/1/', type: 'Directory', mode: 0o700 },
  { path: 'base/1/1259', data: Buffer.alloc(300_000, 7), mode: 0o600 },
  { path: 'PG_VERSION', data: Buffer.from('15\n'), mode: 0o600 },
  { path: 'pg_wal', type: 'SymbolicLink', linkpath: 'base/1' },
];

describe('unpacking a base backup', () => {
  it.each([
    ['encrypted (zstd straight into tar)', true],
    ['in the clear (through the guard)', false],
  ] as const)('%s: the files, modes and links come back as archived', async (_what, encrypted) => {
    const { deps, close } = await makeDeps(encrypted ? {} : { key: null });
    try {
      const manifest = await storeBase(deps, craftArchive(cluster));
      const dir = join(tempDir(), 'data');
      await unpackBase(manifest, dir, deps);
      expect(readFileSync(join(dir, 'base/1/1259')).equals(Buffer.alloc(300_000, 7))).toBe(true);
      expect(readFileSync(join(dir, 'PG_VERSION'), 'utf8')).toBe('15\n');
      expect(statSync(join(dir, 'base/1/1259')).mode & 0o777).toBe(0o600);
      expect(readlinkSync(join(dir, 'pg_wal'))).toBe('base/1');
    } finally {
      await close();
    }
  });

  it('encrypted: a bit flipped in the stored archive fails the unpack as an integrity error', async () => {
    const { deps, close, dir: depsDir } = await makeDeps();
    try {
      const manifest = await storeBase(deps, craftArchive(cluster));
      const stored = join(depsDir, 'store', manifest.artifact.key);
      const bytes = await readFile(stored);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
      writeFileSync(stored, bytes);
      await expect(unpackBase(manifest, join(tempDir(), 'data'), deps)).rejects.toMatchObject({ code: 'INTEGRITY' });
    } finally {
      await close();
    }
  });

  it.each([
    ['a path that climbs out', [{ path: '../escaped', data: Buffer.from('boom') }]],
    ['a write through a link to the parent', [{ path: 'up', type: 'SymbolicLink', linkpath: '..' }, { path: 'up/escaped', data: Buffer.from('boom') }]],
  ] satisfies Array<[string, CraftedEntry[]]>)('an archive with %s writes nothing outside the directory, encrypted or not', async (_what, bad) => {
    await bothStores(async (deps, encrypted) => {
      // Encrypted, such an archive could only come from someone holding the key: GNU tar's own
      // refusals are then the second line, and the unpack still fails.
      const manifest = await storeBase(deps, craftArchive([...cluster, ...bad]));
      const parent = tempDir();
      await expect(unpackBase(manifest, join(parent, 'data'), deps)).rejects.toThrow(encrypted ? /tar exited with status 2/ : /unsafe or damaged tar/);
      expect(existsSync(join(parent, 'escaped'))).toBe(false);
    });
  });

  it('a link pointing out of the directory (tar extracts it as it is) is refused before anything runs on it, encrypted or not', async () => {
    await bothStores(async (deps, encrypted) => {
      const manifest = await storeBase(deps, craftArchive([...cluster, { path: 'pg_xact', type: 'SymbolicLink', linkpath: '/etc' }]));
      await expect(unpackBase(manifest, join(tempDir(), 'data'), deps)).rejects.toThrow(/"pg_xact" links outside the directory/);
    });
  });

  it('when tar fails on its own, its error is the one reported (not the broken pipe or a "cancelled" zstd it caused)', async () => {
    await bothStores(async (deps, encrypted) => {
      // Large enough that the pipe fills while tar has already exited.
      const manifest = await storeBase(deps, craftArchive([...cluster, { path: 'big', data: randomBytes(4 * 1024 * 1024) }]));
      for (let i = 0; i < 4; i += 1) {
        await expect(unpackBase(manifest, join(tempDir(), 'data'), deps, { tarPath: '/bin/false' })).rejects.toThrow(/^unpacking into \S+\/data: tar exited with status 1/);
      }
    });
  });

  it('an encrypted archive in format 1 (which does not bind the backup\'s key) never reaches tar', async () => {
    const key = { id: keyId(FORMAT1_VECTOR_KEY), key: FORMAT1_VECTOR_KEY };
    const { deps, close, dir } = await makeDeps({ key });
    try {
      const id = 'base-20261207T000000Z-0002';
      const artifactKey = `base/${id}/base.tar.zst.enc`;
      const bytes = Buffer.from(FORMAT1_VECTOR, 'hex');
      mkdirSync(join(dir, 'store', 'base', id), { recursive: true });
      writeFileSync(join(dir, 'store', artifactKey), bytes);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const manifest = { id, artifact: { key: artifactKey, sizeBytes: bytes.length, sha256, plainSizeBytes: 40, plainSha256: sha256, compression: 'zstd', encryption: { algorithm: WAL_ENCRYPTION, keyId: key.id } } } as unknown as BaseManifest;
      await expect(unpackBase(manifest, join(tempDir(), 'data'), deps)).rejects.toThrow(/format 1/);
    } finally {
      await close();
    }
  });
});
