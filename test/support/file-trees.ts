import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createLocalStore } from '../../src/storage/local-store.ts';
import { createS3Store } from '../../src/storage/s3-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { createTestBucket, TEST_S3_CREDENTIALS, TEST_S3_REGION } from './s3-server.ts';

/**
 * Real directory trees for the files tests: build one from a description, and fingerprint one
 * (independently of the code under test) to compare a restored tree with its source.
 */
export interface EntrySnapshot {
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits (files and directories). */
  mode?: number;
  /** Modification time in whole microseconds (what utimes(2) can restore). */
  mtimeUs: string;
  size?: number;
  sha256?: string;
  target?: string;
}

/** Every entry below `root` (and the root itself as "."), keyed by relative path. */
export function snapshotTree(root: string): Record<string, EntrySnapshot> {
  const out: Record<string, EntrySnapshot> = {};
  const visit = (rel: string): void => {
    const abs = rel === '.' ? root : join(root, rel);
    const info = lstatSync(abs, { bigint: true });
    const mtimeUs = String(info.mtimeNs / 1000n);
    if (info.isSymbolicLink()) {
      out[rel] = { type: 'symlink', mtimeUs, target: readlinkSync(abs) };
    } else if (info.isDirectory()) {
      out[rel] = { type: 'dir', mode: Number(info.mode) & 0o7777, mtimeUs };
      for (const name of readdirSync(abs)) visit(rel === '.' ? name : `${rel}/${name}`);
    } else {
      const data = readFileSync(abs);
      out[rel] = { type: 'file', mode: Number(info.mode) & 0o7777, mtimeUs, size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    }
  };
  visit('.');
  return out;
}

/** Writes files (creating parents) and optionally sets their mtime (seconds since the epoch). */
export function writeFiles(root: string, files: Record<string, string | Buffer>, mtimeSeconds?: number): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = join(root, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
    if (mtimeSeconds !== undefined) utimesSync(abs, mtimeSeconds, mtimeSeconds);
  }
}

/** Deterministic incompressible bytes ("a receipt photo"). */
export function noise(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** A store in a fresh bucket of the shared S3 test server. */
export async function s3TestStore(endpoint: string): Promise<ObjectStore> {
  const bucket = await createTestBucket(endpoint);
  return createS3Store({ bucket, prefix: 'fbms', endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS, partSizeBytes: 5 * 1024 * 1024 });
}

export { createLocalStore };
