import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who a process is, beyond its pid. In a container node has the same pid (often 1) after every
 * restart, and on a long-running host pids are reused, so "a process with that pid exists" does
 * not mean "the process that wrote this is still running". The kernel's per-boot id and the
 * process start time (clock ticks since boot, /proc/<pid>/stat field 22) together name one
 * process for the life of the machine. Where /proc is missing (macOS) both are undefined and
 * liveness falls back to the pid alone.
 */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/<pid>/stat; undefined where /proc is unavailable. */
  startTime?: string;
  /** /proc/sys/kernel/random/boot_id; undefined where unavailable. */
  bootId?: string;
  host: string;
}

let self: ProcessIdentity | undefined;

export function currentProcess(): ProcessIdentity {
  self ??= { pid: process.pid, startTime: processStartTime(process.pid), bootId: readBootId(), host: hostname() };
  return self;
}

/** The start time of `pid` as the kernel reports it, or undefined (no /proc, no such process). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself contain spaces and ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** True while a process with this pid exists (EPERM: it exists but is not ours). */
export function isPidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when the process `owner` names still runs on this machine: same boot, the pid exists,
 * and it started at the recorded time. A recorded field we cannot compare (no /proc) is not
 * held against the owner, so a live process is never judged dead for lack of information.
 */
export function isProcessRunning(owner: Pick<ProcessIdentity, 'pid' | 'startTime' | 'bootId'>): boolean {
  const me = currentProcess();
  if (owner.bootId !== undefined && me.bootId !== undefined && owner.bootId !== me.bootId) return false;
  if (!isPidAlive(owner.pid)) return false;
  if (owner.startTime === undefined) return true;
  const now = owner.pid === me.pid ? me.startTime : processStartTime(owner.pid);
  return now === undefined || now === owner.startTime;
}

/**
 * A compact, filename-safe token for this process ("p1234-56789-3f2a9c1d"), used to name its
 * temp directory so a later start can tell which directories belong to dead processes.
 */
export function processToken(identity: ProcessIdentity = currentProcess()): string {
  return `p${identity.pid}-${identity.startTime ?? 'x'}-${(identity.bootId ?? 'x').replace(/[^0-9a-f]/gi, '').slice(0, 12) || 'x'}`;
}

/** The inverse of processToken; undefined for names that are not tokens. */
export function parseProcessToken(token: string): Pick<ProcessIdentity, 'pid' | 'startTime'> & { bootPrefix?: string } | undefined {
  const match = /^p(\d+)-(\d+|x)-([0-9a-f]+|x)$/i.exec(token);
  if (!match) return undefined;
  return { pid: Number(match[1]), startTime: match[2] === 'x' ? undefined : match[2], bootPrefix: match[3] === 'x' ? undefined : match[3] };
}

/** isProcessRunning for a token: the boot id is compared by the prefix the token keeps. */
export function isTokenRunning(token: string): boolean {
  const parsed = parseProcessToken(token);
  if (!parsed) return false;
  const myBoot = (currentProcess().bootId ?? '').replace(/[^0-9a-f]/gi, '').slice(0, 12);
  if (parsed.bootPrefix !== undefined && myBoot !== '' && parsed.bootPrefix !== myBoot) return false;
  return isProcessRunning({ pid: parsed.pid, startTime: parsed.startTime });
}
