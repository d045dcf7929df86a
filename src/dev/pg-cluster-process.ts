import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Process plumbing for the throwaway test cluster (src/dev/pg-cluster.ts): running programs as
 * an unprivileged user, picking a free port, and making sure a crashed run does not leave a
 * postmaster behind. Unix only, like the cluster itself.
 */

/** The unprivileged account server programs run as when we are root (initdb refuses root). */
export interface RunAsUser {
  name: string;
  uid: number;
  gid: number;
}

/** undefined when not root (programs then run as ourselves); else postgres, else nobody. */
export function unprivilegedUser(): RunAsUser | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // Fall through to the conventional nobody ids.
  }
  for (const wanted of ['postgres', 'nobody']) {
    for (const line of passwd.split('\n')) {
      const [name, , uid, gid] = line.split(':');
      if (name === wanted && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  return { name: 'nobody', uid: 65534, gid: 65534 };
}

/**
 * Environment for server programs: ours without PG* variables (a stray PGPORT/PGDATA must not
 * steer the throwaway cluster) and with the C locale so messages we match are in English.
 */
export function serverEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG') && !key.startsWith('LC_')) env[key] = value;
  return { ...env, HOME: home, LC_ALL: 'C' };
}

export interface RunResult {
  code: number | null;
  /** stdout and stderr interleaved. */
  output: string;
}

/** Runs a program to completion (never rejects for a non-zero exit), as `user` when given. */
export function runProgram(
  program: string,
  args: readonly string[],
  options: { user: RunAsUser | undefined; cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      ...(options.user === undefined ? {} : { uid: options.user.uid, gid: options.user.gid }),
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Another process may still grab it before
 * the server binds, so callers retry on "address in use".
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

/** What an emergency stop needs to know about one running cluster. */
export interface GuardedCluster {
  pgCtl: string;
  dataDir: string;
  /** Removed after the stop; undefined when the directory belongs to the caller. */
  removeDir: string | undefined;
  user: RunAsUser | undefined;
  env: NodeJS.ProcessEnv;
}

const guarded = new Set<GuardedCluster>();
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function emergencyStop(cluster: GuardedCluster): void {
  spawnSync(cluster.pgCtl, ['-D', cluster.dataDir, '-m', 'immediate', '-w', '-t', '10', 'stop'], {
    stdio: 'ignore',
    env: cluster.env,
    cwd: '/',
    timeout: 15_000,
    ...(cluster.user === undefined ? {} : { uid: cluster.user.uid, gid: cluster.user.gid }),
  });
  if (cluster.removeDir !== undefined) rmSync(cluster.removeDir, { recursive: true, force: true });
}

function stopAllNow(): void {
  for (const cluster of guarded) emergencyStop(cluster);
  guarded.clear();
}

/** Stops every cluster, then lets the signal do what it would have done without us. */
function onSignal(signal: NodeJS.Signals): void {
  stopAllNow();
  uninstallHooks();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHooks(): void {
  process.on('exit', stopAllNow);
  for (const signal of signals) process.on(signal, onSignal);
}

function uninstallHooks(): void {
  process.removeListener('exit', stopAllNow);
  for (const signal of signals) process.removeListener(signal, onSignal);
}

/**
 * Makes sure `cluster` is stopped and its directory removed however this process ends:
 * - exit and SIGINT/SIGTERM/SIGHUP handlers stop it synchronously (immediate mode);
 * - a detached watchdog shell blocks reading a pipe from us (never written to); the pipe closes when we die in any
 *   way, SIGKILL included, and the watchdog then stops the server and removes the directory.
 * Returns the release function to call after a normal stop.
 */
export function guardCluster(cluster: GuardedCluster): () => void {
  if (guarded.size === 0) installHooks();
  guarded.add(cluster);
  const watchdog = startWatchdog(cluster);
  return () => {
    guarded.delete(cluster);
    if (guarded.size === 0) uninstallHooks();
    if (watchdog !== undefined) stopWatchdog(watchdog);
  };
}

/** Kills the watchdog before closing the pipe it waits on, so it does not run its cleanup. */
function stopWatchdog(watchdog: ChildProcess): void {
  watchdog.kill('SIGKILL');
  watchdog.stdin?.destroy();
}

// `read` is a shell builtin: a single process that we reap ourselves, no orphaned helper.
const watchdogScript = 'while read -r _; do :; done; "$1" -D "$2" -m immediate -w -t 10 stop >/dev/null 2>&1; [ -n "$3" ] && rm -rf "$3"';

function startWatchdog(cluster: GuardedCluster): ChildProcess | undefined {
  try {
    const child = spawn('/bin/sh', ['-c', watchdogScript, 'bantay-pg-watchdog', cluster.pgCtl, cluster.dataDir, cluster.removeDir ?? ''], {
      // Own process group: a Ctrl-C to our terminal must not kill the watchdog before it acts.
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      cwd: '/',
      env: cluster.env,
      ...(cluster.user === undefined ? {} : { uid: cluster.user.uid, gid: cluster.user.gid }),
    });
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    child.unref();
    // The pipe must not keep our event loop alive; it only has to exist until we die.
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return child;
  } catch {
    return undefined; // The exit/signal handlers still cover the common cases.
  }
}
