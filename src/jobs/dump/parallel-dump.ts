import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTool, type RunningTool } from '../pg/run-tool.ts';
import { tarFiles } from './dir-tar.ts';

/** The manifest's artifact format of a parallel dump: a tar of a pg_dump directory-format dump. */
export const DIRECTORY_TAR_FORMAT = 'pg_dump-directory-tar';

export interface ParallelDumpOptions {
  pgDumpPath: string;
  /** pg_dump arguments besides format, jobs and output (snapshot, compression, --no-password). */
  args: string[];
  jobs: number;
  env: NodeJS.ProcessEnv;
  /** Parent of the plaintext working directory (BANTAY_DATA_DIR/tmp). */
  tmpDir: string;
  signal: AbortSignal;
}

/**
 * `pg_dump -Fd -j N` streamed as a tar while it runs: the stand-in for the single pg_dump's
 * stdout, with the same `{ child.stdout, done }` shape the backup pipeline reads.
 *
 * pg_dump's workers each write one table's file and close it; a file no pg_dump process holds
 * open any more is finished (pg_dump never reopens one), so it goes into the tar at once and is
 * deleted. Linux tells us who holds what in /proc/<pid>/fd; elsewhere every file waits for
 * pg_dump to exit. toc.dat, which pg_dump writes last, is always the last entry. The working
 * directory is plaintext: 0700 under BANTAY_DATA_DIR/tmp, removed on every path.
 */
export function startParallelDump(options: ParallelDumpOptions): Pick<RunningTool, 'done'> & { child: { stdout: Readable } } {
  mkdirSync(options.tmpDir, { recursive: true, mode: 0o700 });
  // The real path: /proc/<pid>/fd links name files by it, and a symlinked tmp dir must still match.
  const dir = join(realpathSync(options.tmpDir), `bantay-dump-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { mode: 0o700 });
  const out = join(dir, 'dump');
  const tool = runTool(options.pgDumpPath, ['--format=directory', `--jobs=${options.jobs}`, `--file=${out}`, ...options.args], {
    env: options.env,
    signal: options.signal,
    name: 'pg_dump',
  });
  tool.child.stdout.resume();
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  let exited = false;
  const exit = tool.done.then(
    () => void (exited = true),
    () => void (exited = true),
  );
  const stdout = Readable.from(tarFiles(finishedFiles(out, tool.child.pid, () => exited, exit, tool.done, options.signal), options.signal), { objectMode: false });
  const cleanup = () => {
    removeDir();
    process.off('exit', removeDir);
  };
  // The directory goes when the tar stream is finished or destroyed (the pipeline destroys it on
  // any failure), not when pg_dump exits: the last files and toc.dat are read after that.
  stdout.once('close', cleanup);
  return { child: { stdout }, done: tool.done };
}

/** Files of the dump directory as they are finished; toc.dat last, once pg_dump succeeded. */
async function* finishedFiles(
  dir: string,
  pid: number | undefined,
  exited: () => boolean,
  exit: Promise<void>,
  done: Promise<void>,
  signal: AbortSignal,
): AsyncGenerator<string> {
  const sent = new Set<string>();
  while (!exited()) {
    const open = pid === undefined ? undefined : openFilesOf(pid);
    if (open !== undefined) {
      for (const name of listDir(dir)) {
        const path = join(dir, name);
        if (name === 'toc.dat' || sent.has(name) || open.has(path)) continue;
        sent.add(name);
        yield path;
      }
    }
    await Promise.race([sleep(200, undefined, { signal }), exit]);
  }
  await done; // A failed pg_dump fails the stream (and with it the backup).
  const rest = listDir(dir).filter((n) => !sent.has(n) && n !== 'toc.dat').sort();
  for (const name of rest) yield join(dir, name);
  yield join(dir, 'toc.dat');
}

const HAS_PROC = existsSync('/proc/self/fd');

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // pg_dump has not created it yet.
  }
}

/** Paths open in `pid` and all its descendants (pg_dump's workers), or undefined without /proc. */
export function openFilesOf(pid: number): Set<string> | undefined {
  if (!HAS_PROC) return undefined;
  const open = new Set<string>();
  const pending = [pid];
  try {
    while (pending.length > 0) {
      const p = pending.pop()!;
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${p}/fd`);
      } catch (err) {
        if (p === pid && (err as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
        continue; // Exited meanwhile.
      }
      for (const fd of fds) {
        try {
          open.add(readlinkSync(`/proc/${p}/fd/${fd}`));
        } catch {
          // Closed meanwhile.
        }
      }
      for (const task of safeList(`/proc/${p}/task`)) {
        const children = safeRead(`/proc/${p}/task/${task}/children`);
        for (const c of children.split(/\s+/)) if (c !== '') pending.push(Number(c));
      }
    }
  } catch {
    return undefined;
  }
  return open;
}

function safeList(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
