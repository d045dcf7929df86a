import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPidAlive, isTokenRunning, processToken } from '../../state/process-identity.ts';

/**
 * A point-in-time restore works in BANTAY_DATA_DIR/pitr/<run>/: a plaintext data directory
 * (or the --to-dir target), a PostgreSQL server running on it, WAL fetched ahead. A run whose
 * Bantay process is killed (SIGKILL, OOM, power loss) leaves all of that behind, the server
 * included: it was started by the dead process and nothing else stops it. Each run therefore
 * records who owns it and where its data directory is, first thing; every Bantay start sweeps
 * the runs of dead processes (stops their server, empties a --to-dir target as a failed run
 * does, removes the run directory).
 */
const OWNER_FILE = 'owner.json';

interface RunOwner {
  token: string;
  /** The data directory the recovery server runs on. */
  dataDir: string;
  /** --to-dir: the operator's directory, emptied if the run never finished. */
  toDir?: string;
}

export function recoveryRunsDir(dataDir: string): string {
  return join(dataDir, 'pitr');
}

/** Written before anything else goes into the run directory. */
export function claimRecoveryRun(runDir: string, owner: Omit<RunOwner, 'token'>): void {
  writeFileSync(join(runDir, OWNER_FILE), JSON.stringify({ token: processToken(), ...owner }), { mode: 0o600 });
}

export interface SweptRun {
  run: string;
  /** The pid of the recovery server that was still running, stopped. */
  stoppedServer?: number;
  emptied?: string;
  problem?: string;
}

/**
 * Sweeps the runs of dead processes; synchronous, like the temp-dir sweep it runs beside at
 * start. A run directory without an owner file is a run killed in its first millisecond, or
 * not ours: it is left alone unless older than a minute.
 */
export function sweepDeadRecoveryRuns(dataDir: string, options: { stopWaitMs?: number } = {}): SweptRun[] {
  const root = recoveryRunsDir(dataDir);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const swept: SweptRun[] = [];
  for (const name of names) {
    const runDir = join(root, name);
    const owner = readOwner(runDir);
    if (owner === undefined) {
      if (!olderThan(runDir, 60_000)) continue;
    } else if (isTokenRunning(owner.token)) {
      continue;
    }
    const result: SweptRun = { run: name };
    try {
      const dataDir = owner?.dataDir ?? join(runDir, 'data');
      const stopped = stopOrphanServer(dataDir, options.stopWaitMs ?? 10_000);
      if (stopped !== undefined) result.stoppedServer = stopped;
      // Killed while unpacking, its tar may still be writing what was in flight (zstd feeds it
      // directly): emptying the directory under it would race with it.
      const stuck = stopOrphanExtractors(dataDir);
      if (stuck.length > 0) throw new Error(`tar (pid ${stuck.join(', ')}) is still extracting into ${dataDir} and could not be stopped; the run is left for the next start`);
      if (owner?.toDir !== undefined) {
        for (const entry of readdirSync(owner.toDir)) rmSync(join(owner.toDir, entry), { recursive: true, force: true });
        result.emptied = owner.toDir;
      }
      rmSync(runDir, { recursive: true, force: true });
    } catch (err) {
      result.problem = err instanceof Error ? err.message : String(err);
    }
    swept.push(result);
  }
  return swept;
}

function readOwner(runDir: string): RunOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(join(runDir, OWNER_FILE), 'utf8')) as Partial<RunOwner>;
    if (typeof owner.token !== 'string' || typeof owner.dataDir !== 'string') return undefined;
    return { token: owner.token, dataDir: owner.dataDir, ...(typeof owner.toDir === 'string' ? { toDir: owner.toDir } : {}) };
  } catch {
    return undefined;
  }
}

function olderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return false;
  }
}

/**
 * Stops the postmaster named by `dataDir`/postmaster.pid, only if that pid is a postgres
 * process running on exactly this data directory (a reused pid is someone else's): SIGQUIT
 * (immediate shutdown; the directory is thrown away or emptied next), SIGKILL if it lingers.
 */
function stopOrphanServer(dataDir: string, waitMs: number): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !runsOn(pid, dataDir)) return undefined;
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return undefined;
  }
  if (!goneWithin(pid, waitMs)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    goneWithin(pid, 5000);
  }
  return pid;
}

/**
 * SIGKILLs (and waits for) every `tar … -C <dataDir>` left by the dead run's unpack (unpack-base.ts),
 * returning those still alive after 5 s (the run is then not emptied: that would race with them):
 * only a tar extracting into exactly this directory, which only a Bantay unpack starts. Linux
 * (/proc); elsewhere there is nothing to find and the directory is emptied as before.
 */
function stopOrphanExtractors(dataDir: string): number[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const stuck: number[] = [];
  for (const name of pids) {
    const pid = Number(name);
    if (pid === process.pid || !extractsInto(pid, dataDir)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile, or not ours to kill (then it is still there: see below)
    }
    if (!goneWithin(pid, 5000)) stuck.push(pid);
  }
  return stuck;
}

/** `tar -x … -C <dataDir>` as unpack-base.ts starts it. */
function extractsInto(pid: number, dataDir: string): boolean {
  const argv = commandLine(pid);
  return argv !== undefined && /(^|\/)tar$/.test(argv[0] ?? '') && argv.includes('-x') && optionValue(argv, '-C') === dataDir;
}

/** "postgres -D <dataDir> …" as recovery-server.ts starts it. */
function runsOn(pid: number, dataDir: string): boolean {
  const argv = commandLine(pid);
  return argv !== undefined && /(^|\/)postgres$/.test(argv[0] ?? '') && optionValue(argv, '-D') === dataDir;
}

/** Linux: the process's arguments from /proc; undefined when it is gone (or there is no /proc). */
function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

function optionValue(argv: string[], option: string): string | undefined {
  const at = argv.indexOf(option);
  return at >= 0 ? argv[at + 1] : undefined;
}

/** Waits (synchronously, polling) until `pid` is gone; false if it still runs after `ms`. */
function goneWithin(pid: number, ms: number): boolean {
  const deadline = Date.now() + ms;
  while (isAlive(pid) && Date.now() < deadline) sleepSync(20);
  return !isAlive(pid);
}

/** process-identity.ts isPidAlive, where a zombie (its parent died, init has not reaped it yet) counts as gone. */
function isAlive(pid: number): boolean {
  if (!isPidAlive(pid)) return false;
  try {
    return !/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
