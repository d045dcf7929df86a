import { readdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';

/**
 * How busy the rest of the machine was during a run. Benchmarks on a shared box (tests of other
 * sessions, CI) are easily skewed: this takes the machine's busy CPU time from /proc/stat and
 * subtracts what the benchmark's own processes used (this process and its descendants, whose
 * reaped children count through cutime/cstime, plus each extra root such as the postmaster and
 * its backends). What is left is "foreign" load, in average busy cores. Linux only; elsewhere
 * every figure is undefined.
 */
const TICKS_PER_SECOND = 100; // USER_HZ; 100 on every Linux architecture Node supports.

export interface CpuSample {
  at: bigint;
  hostBusyTicks: number;
  oursTicks: number;
}

async function hostBusyTicks(): Promise<number | undefined> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => undefined);
  const line = text?.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return undefined;
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return user! + nice! + system! + irq! + softirq! + (steal ?? 0);
}

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks. */
  ticks: number;
}

async function readProcStats(): Promise<Map<number, ProcStat>> {
  const stats = new Map<number, ProcStat>();
  const entries = await readdir('/proc').catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        const text = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => undefined);
        if (text === undefined) return;
        const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
        // fields[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
        const n = (i: number) => Number(fields[i - 3]);
        stats.set(Number(e), { ppid: n(4), ticks: n(14) + n(15) + n(16) + n(17) });
      }),
  );
  return stats;
}

/** Ticks used by each root and all its living descendants (each process counted once). */
function treeTicks(stats: Map<number, ProcStat>, roots: readonly number[]): number {
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const seen = new Set<number>();
  const stack = roots.filter((pid) => stats.has(pid));
  let total = 0;
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += stats.get(pid)!.ticks;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

export class HostCpu {
  /** Extra process roots that belong to the benchmark (e.g. the postmaster). */
  readonly roots: number[] = [];
  readonly available: boolean = process.platform === 'linux';

  async sample(): Promise<CpuSample | undefined> {
    if (!this.available) return undefined;
    const [host, stats] = await Promise.all([hostBusyTicks(), readProcStats()]);
    if (host === undefined) return undefined;
    return { at: process.hrtime.bigint(), hostBusyTicks: host, oursTicks: treeTicks(stats, [process.pid, ...this.roots]) };
  }

  /** Average cores busy with other work between two samples (never below 0). */
  static foreignCores(before: CpuSample | undefined, after: CpuSample | undefined): number | undefined {
    if (before === undefined || after === undefined) return undefined;
    const seconds = Number(after.at - before.at) / 1e9;
    if (seconds <= 0) return undefined;
    const foreign = after.hostBusyTicks - before.hostBusyTicks - (after.oursTicks - before.oursTicks);
    return Math.max(0, foreign / TICKS_PER_SECOND / seconds);
  }

  /**
   * Waits until other processes use less than `maxCores` over a 2-second window, at most
   * `timeoutMs`. Resolves with the last measured foreign load.
   */
  async waitForIdle(maxCores: number, timeoutMs: number, onWait?: (cores: number) => void): Promise<number | undefined> {
    if (!this.available) return undefined;
    const deadline = Date.now() + timeoutMs;
    let warned = false;
    for (;;) {
      const before = await this.sample();
      await new Promise((r) => setTimeout(r, 2000));
      const cores = HostCpu.foreignCores(before, await this.sample());
      if (cores === undefined || cores < maxCores || Date.now() >= deadline) return cores;
      if (!warned) onWait?.(cores);
      warned = true;
    }
  }
}

export const hostCores = cpus().length;
