import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Differences between two trees (at most a few dozen listed): entry types, regular files'
 * content (SHA-256), permission bits and µs mtimes, symlink targets, directory modes and mtimes.
 */
export async function compareTrees(expected: string, actual: string): Promise<string[]> {
  const diffs: string[] = [];
  await compareDir(expected, actual, '.', diffs);
  return diffs;
}

async function compareDir(a: string, b: string, rel: string, diffs: string[]): Promise<void> {
  const [left, right] = await Promise.all([readdir(join(a, rel)), readdir(join(b, rel)).catch(() => [] as string[])]);
  const names = new Set([...left, ...right]);
  for (const name of [...names].sort()) {
    if (diffs.length > 50) return;
    const path = rel === '.' ? name : `${rel}/${name}`;
    const [x, y] = await Promise.all([lstat(join(a, path), { bigint: true }).catch(() => undefined), lstat(join(b, path), { bigint: true }).catch(() => undefined)]);
    if (x === undefined || y === undefined) {
      diffs.push(`${path}: ${x === undefined ? 'extra' : 'missing'}`);
      continue;
    }
    if ((x.mode & 0o170777n) !== (y.mode & 0o170777n)) diffs.push(`${path}: mode ${x.mode.toString(8)} vs ${y.mode.toString(8)}`);
    if (!x.isSymbolicLink() && x.mtimeNs / 1000n !== y.mtimeNs / 1000n) diffs.push(`${path}: mtime ${x.mtimeNs} vs ${y.mtimeNs}`);
    if (x.isDirectory()) await compareDir(a, b, path, diffs);
    else if (x.isSymbolicLink()) {
      if ((await readlink(join(a, path))) !== (await readlink(join(b, path)).catch(() => ''))) diffs.push(`${path}: symlink target`);
    } else if (x.size !== y.size || (await sha256(join(a, path))) !== (await sha256(join(b, path)))) diffs.push(`${path}: content`);
  }
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
