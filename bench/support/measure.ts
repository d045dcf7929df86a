import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Runs one program to completion and measures it: wall time, peak RSS and (with GNU time) CPU.
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -f ... -o FILE`, the wait4() rusage of the child)
 * when it is installed, otherwise from polling VmHWM in /proc/PID/status every 50 ms until the
 * child exits (VmHWM is a high-water mark, so the last sample before exit is the peak). With GNU
 * time, the figure is the maximum over the child and the descendants it waited for (a Node
 * process and its pg_dump): the larger one, which for Bantay is always the Node process.
 */
export interface Measurement {
  code: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  /** Peak resident set size in bytes, or undefined when it could not be measured. */
  peakRssBytes: number | undefined;
  /** User + system CPU seconds of the child and its waited-for descendants (GNU time only). */
  cpuSeconds: number | undefined;
  stdout: string;
  stderr: string;
}

export interface MeasureOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Scratch directory for GNU time's output file. */
  scratchDir: string;
  /** Live children, so a Ctrl-C handler can kill them. */
  running?: Set<import('node:child_process').ChildProcess>;
}

const GNU_TIME = '/usr/bin/time';
let gnuTimeChecked: Promise<boolean> | undefined;

/** True when /usr/bin/time is GNU time (supports -f and -o). Checked once. */
export function hasGnuTime(): Promise<boolean> {
  gnuTimeChecked ??= (async () => {
    try {
      accessSync(GNU_TIME, constants.X_OK);
    } catch {
      return false;
    }
    return new Promise<boolean>((resolve) => {
      const child = spawn(GNU_TIME, ['-f', '%M', 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
      child.on('error', () => resolve(false));
      child.on('close', (code) => resolve(code === 0 && /^\d+\s*$/.test(err.trim().split('\n').pop() ?? '')));
    });
  })();
  return gnuTimeChecked;
}

let sequence = 0;

export async function measure(program: string, args: readonly string[], options: MeasureOptions): Promise<Measurement> {
  const gnu = await hasGnuTime();
  const timeFile = join(options.scratchDir, `time-${process.pid}-${++sequence}.txt`);
  const [cmd, argv] = gnu ? [GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, program, ...args]] : [program, [...args]];
  const started = process.hrtime.bigint();
  const child = spawn(cmd, argv, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  options.running?.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-64 * 1024)));

  let polledPeak = 0;
  const poll = async (): Promise<void> => {
    if (child.pid === undefined) return;
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    if (match) polledPeak = Math.max(polledPeak, Number(match[1]) * 1024);
  };
  const timer = gnu ? undefined : setInterval(() => void poll(), 50);

  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve({ code: c, signal: s }));
  }).finally(() => {
    if (timer) clearInterval(timer);
    options.running?.delete(child);
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  let peakRssBytes: number | undefined = polledPeak > 0 ? polledPeak : undefined;
  let cpuSeconds: number | undefined;
  if (gnu) {
    const text = await readFile(timeFile, 'utf8').catch(() => '');
    await rm(timeFile, { force: true });
    // GNU time writes "Command exited with non-zero status N" before the format line.
    const last = text.trim().split('\n').pop() ?? '';
    const match = /^(\d+) ([\d.]+) ([\d.]+)$/.exec(last.trim());
    if (match) {
      peakRssBytes = Number(match[1]) * 1024;
      cpuSeconds = Number(match[2]) + Number(match[3]);
    }
  }
  return { code, signal, seconds, peakRssBytes, cpuSeconds, stdout, stderr };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
