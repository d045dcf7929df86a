import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar';
import { BantayError, ErrorCode } from '../../errors.ts';
import { isProcessAlive } from '../../state/dir-lock.ts';

const PREFIX = 'bantay-dumpdir-';

/**
 * Unpacks a parallel dump's tar (the verified plaintext stream of its artifact) into a fresh
 * 0700 directory for pg_restore, which reads a directory-format dump only from disk. The
 * archive must hold plain files with flat names and end with toc.dat, as Bantay writes it;
 * anything else is refused. `use` runs only after the stream ended, i.e. after the artifact's
 * size, SHA-256 and authentication all checked out. The directory is removed on every path,
 * and directories of Bantay processes that died are removed first.
 */
export async function withExtractedDump<T>(input: Readable, options: { tmpDir?: string; signal?: AbortSignal }, use: (dir: string) => Promise<T>): Promise<T> {
  const parent = options.tmpDir ?? tmpdir();
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  removeOrphanDumpDirs(parent);
  const dir = join(parent, `${PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { mode: 0o700 });
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', remove);
  try {
    const names: string[] = [];
    let refused: string | undefined;
    const unpack = extract({
      cwd: dir,
      strict: true,
      filter: (path, entry) => {
        const ok = /^[A-Za-z0-9_.-]+$/.test(path) && !path.startsWith('.') && 'type' in entry && entry.type === 'File';
        if (ok) names.push(path);
        else refused ??= path;
        return ok;
      },
    });
    await pipeline(input, unpack, { signal: options.signal });
    if (refused !== undefined || names.at(-1) !== 'toc.dat') {
      throw new BantayError(ErrorCode.Integrity, `The parallel dump's archive is not one Bantay wrote (${refused !== undefined ? `unexpected entry ${JSON.stringify(refused.slice(0, 80))}` : 'toc.dat is not its last entry'})`);
    }
    return await use(dir);
  } finally {
    remove();
    process.off('exit', remove);
  }
}

function removeOrphanDumpDirs(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)-[0-9a-f]+$`).exec(name)?.[1]);
    if (Number.isInteger(pid) && !isProcessAlive(pid)) rmSync(join(parent, name), { recursive: true, force: true });
  }
}
