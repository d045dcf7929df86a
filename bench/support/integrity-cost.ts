import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { recordTag } from '../../src/catalog/record-auth.ts';

/**
 * What issue 9's integrity work adds to a backup, measured as CPU time of the real functions on
 * the real sizes: the upload digest of every byte sent to S3 (Content-MD5 by default,
 * x-amz-checksum-sha256 with BANTAY_S3_CHECKSUM=sha256), in parts of the store's part size, and the
 * HMAC of every catalog record the backup wrote (the records themselves, read from the store).
 * CPU time, not wall time: it is what the work costs, whatever else the machine is doing, and
 * the backup's wall time can only grow by at most this much (the digest runs on the upload path).
 */
export interface IntegrityCost {
  md5Seconds: number;
  sha256Seconds: number;
  recordSeconds: number;
  records: number;
  recordBytes: number;
}

const PART_BYTES = 8 * 1024 * 1024;

function cpuSeconds(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

function digestSeconds(algorithm: 'md5' | 'sha256', bytes: number, part: Buffer): number {
  return cpuSeconds(() => {
    for (let done = 0; done < bytes; done += part.length) {
      createHash(algorithm).update(done + part.length <= bytes ? part : part.subarray(0, bytes - done)).digest();
    }
  });
}

/** Every JSON record under `dir` (a local store), with its object key relative to the store. */
export async function readStoreRecords(storeDir: string): Promise<Array<{ key: string; record: Record<string, unknown> }>> {
  const out: Array<{ key: string; record: Record<string, unknown> }> = [];
  for (const entry of await readdir(storeDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.json')) continue;
    const abs = join(entry.parentPath, entry.name);
    const text = await readFile(abs, 'utf8');
    try {
      out.push({ key: abs.slice(storeDir.length + 1), record: JSON.parse(text) as Record<string, unknown> });
    } catch {
      // not a record (a partial file of a killed run): not part of the cost
    }
  }
  return out;
}

export function integrityCost(sentBytes: number, records: Array<{ key: string; record: Record<string, unknown> }>, repeat = 20): IntegrityCost {
  const part = randomBytes(PART_BYTES);
  const master = randomBytes(32);
  // Best of three: the cost of the work, not of a page fault or a context switch during one pass.
  const md5Seconds = Math.min(...[0, 1, 2].map(() => digestSeconds('md5', sentBytes, part)));
  const sha256Seconds = Math.min(...[0, 1, 2].map(() => digestSeconds('sha256', sentBytes, part)));
  const recordSeconds =
    cpuSeconds(() => {
      for (let i = 0; i < repeat; i++) for (const r of records) recordTag(master, r.key, r.record);
    }) / repeat;
  const recordBytes = records.reduce((sum, r) => sum + JSON.stringify(r.record).length, 0);
  return { md5Seconds, sha256Seconds, recordSeconds, records: records.length, recordBytes };
}
