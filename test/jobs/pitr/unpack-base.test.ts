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
    for (const encrypted of [false, true]) {
      // Encrypted, such an archive could only come from someone holding the key: GNU tar's own
      // refusals are then the second line, and the unpack still fails.
      const { deps, close } = await makeDeps(encrypted ? {} : { key: null });
      try {
        const manifest = await storeBase(deps, craftArchive([...cluster, ...bad]));
        const parent = tempDir();
        await expect(unpackBase(manifest, join(parent, 'data'), deps)).rejects.toThrow(encrypted ? /tar exited with status 2/ : /unsafe or damaged tar/);
        expect(existsSync(join(parent, 'escaped'))).toBe(false);
      } finally {
        await close();
      }
    }
  });

  it('a link pointing out of the directory (tar extracts it as it is) is refused before anything runs on it, encrypted or not', async () => {
    for (const encrypted of [false, true]) {
      const { deps, close } = await makeDeps(encrypted ? {} : { key: null });
      try {
        const manifest = await storeBase(deps, craftArchive([...cluster, { path: 'pg_xact', type: 'SymbolicLink', linkpath: '/etc' }]));
        await expect(unpackBase(manifest, join(tempDir(), 'data'), deps)).rejects.toThrow(/"pg_xact" links outside the directory/);
      } finally {
        await close();
      }
    }
  });

  it('when tar fails on its own, its error is the one reported (not the broken pipe or a "cancelled" zstd it caused)', async () => {
    for (const encrypted of [false, true]) {
      const { deps, close } = await makeDeps(encrypted ? {} : { key: null });
      try {
        // Large enough that the pipe fills while tar has already exited.
        const manifest = await storeBase(deps, craftArchive([...cluster, { path: 'big', data: randomBytes(4 * 1024 * 1024) }]));
        for (let i = 0; i < 4; i += 1) {
          await expect(unpackBase(manifest, join(tempDir(), 'data'), deps, { tarPath: '/bin/false' })).rejects.toThrow(/^tar exited with status 1/);
        }
      } finally {
        await close();
      }
    }
  });

  it('an encrypted archive in format 1 (which does not bind the backup\'s key) never reaches tar', async () => {
    const key = { id: keyId(V1_KEY), key: V1_KEY };
    const { deps, close, dir } = await makeDeps({ key });
    try {
      const id = 'base-20261207T000000Z-0002';
      const artifactKey = `base/${id}/base.tar.zst.enc`;
      const bytes = Buffer.from(V1_VECTOR, 'hex');
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

/** test/crypto/format-vector.test.ts's stream in format 1, from an independent implementation. */
const V1_VECTOR =
  '42414e54415900450100000010376665303463333938613432346432306465666768696a6b6c6d6e6f70717273747576' +
  '7778797a7b7c7d7e7f80818283c8c9cacbcccdce8da2e7c83643aaf187517bc1dd0d00240d85e5f66d9394f1d2418335' +
  '33452ba1cf2b2fd8b3aa1b6ecf1a19f1d286d0b647d5def3a0d84794b1ae8c30485a7c4cf9882c577d50cbde6d51966a' +
  '7113848468ab364272fa95075d74ef774c3c6013';
const V1_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
