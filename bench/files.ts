/**
 * Files benchmark: `npm run bench:files [-- options]`. Bantay against restic on the same tree in
 * the same run (issues 13 and 16).
 *
 * For each tree (support/uploads-tree.ts: `mixed`, 5,000 files / 428 MB, two thirds JPEG-like,
 * one third text; `photos`, 20,000 files / 2 GB, mostly photos), in interleaved rounds (Bantay
 * first in odd rounds, restic first in even ones), each round into a fresh store and a fresh
 * restic repository (v2, compression auto):
 *   full backup; restore of it; CHAIN incrementals, each after changing CHANGE% of the files;
 *   restore of the newest after the first incremental (full + 1) and after the last (full +
 *   CHAIN); verify of the newest (`bantay verify`, whole chain) against `restic check
 *   --read-data` (every pack read and hashed).
 * Every run is a child process exactly as an operator starts it. Printed per row: medians of the
 * whole-process wall time, Bantay's own job time (durationSeconds of --json: without CLI start-up),
 * CPU seconds, peak RSS, the ratio to restic, and the load other processes put on the machine.
 * The restored trees of the first round are compared with the live tree (content, mode, µs mtime).
 *
 * Options (or environment variables):
 *   --trees mixed,photos   trees to run (BENCH_TREES); default both
 *   --rounds 3             rounds on the mixed tree (BENCH_ROUNDS)
 *   --large-rounds 1       rounds on the 2 GB tree (BENCH_LARGE_ROUNDS)
 *   --chain 7              incrementals per round (BENCH_CHAIN)
 *   --change 1             percent of files changed before each incremental (BENCH_CHANGE)
 *   --state postgres       Bantay's state database: a throwaway PostgreSQL (default) or pglite
 *   --keep                 keep the scratch directory
 * restic is installed from Debian's `restic` package (apt-get) when missing.
 * The last line of output is `BENCH_JSON {...}`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPgCluster, type PgCluster } from '../src/dev/pg-cluster.ts';
import { compareTrees } from './support/compare-trees.ts';
import { HostCpu } from './support/host-cpu.ts';
import { hasGnuTime, measure, median, type Measurement } from './support/measure.ts';
import { quietInodes } from './support/quiet-inodes.ts';
import { buildTree, changeFiles, type TreeShape, type TreeSpec } from './support/uploads-tree.ts';

const MB = 1024 * 1024;
const CLI = join(fileURLToPath(new URL('../', import.meta.url)), 'bin', 'bantay.js');
const TREES: Record<TreeShape, TreeSpec> = { mixed: { shape: 'mixed', files: 5000, bytes: 428e6 }, photos: { shape: 'photos', files: 20_000, bytes: 2048 * MB } };

const { values } = parseArgs({
  options: { trees: { type: 'string' }, rounds: { type: 'string' }, 'large-rounds': { type: 'string' }, chain: { type: 'string' }, change: { type: 'string' }, state: { type: 'string' }, keep: { type: 'boolean' } },
});
const opt = {
  trees: (values.trees ?? process.env.BENCH_TREES ?? 'mixed,photos').split(',') as TreeShape[],
  rounds: Number(values.rounds ?? process.env.BENCH_ROUNDS ?? 3),
  largeRounds: Number(values['large-rounds'] ?? process.env.BENCH_LARGE_ROUNDS ?? 1),
  chain: Number(values.chain ?? process.env.BENCH_CHAIN ?? 7),
  change: Number(values.change ?? process.env.BENCH_CHANGE ?? 1),
  state: (values.state ?? process.env.BENCH_STATE ?? 'postgres') as 'postgres' | 'pglite',
  keep: values.keep === true || process.env.BENCH_KEEP === '1',
};
if (opt.trees.some((t) => !(t in TREES)) || !(opt.rounds >= 1) || !(opt.chain >= 1) || !(opt.change > 0) || !['postgres', 'pglite'].includes(opt.state)) {
  console.error('usage: npm run bench:files -- [--trees mixed,photos] [--rounds 3] [--large-rounds 1] [--chain 7] [--change 1] [--state postgres|pglite] [--keep]');
  process.exit(2);
}

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const hostCpu = new HostCpu();

interface Sample {
  m: Measurement;
  /** Bantay's durationSeconds from --json (the job without start-up). */
  job: number | undefined;
  foreign: number | undefined;
}
const samples = new Map<string, { bantay: Sample[]; restic: Sample[] }>();

function ensureRestic(): void {
  if (spawnSync('restic', ['version']).status === 0) return;
  log('restic is missing: apt-get install -y restic (Debian package) ...');
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', 'restic'], { stdio: 'inherit' });
  if (install.status !== 0 || spawnSync('restic', ['version']).status !== 0) throw new Error('could not install restic (apt-get install restic)');
}

async function run(tool: 'bantay' | 'restic', row: string, tree: string, args: string[], ctx: { env: NodeJS.ProcessEnv; cwd: string; scratchDir: string }): Promise<Measurement> {
  const before = await hostCpu.sample();
  const m = tool === 'bantay' ? await measure(process.execPath, [CLI, ...args], ctx) : await measure('restic', args, ctx);
  if (m.code !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${m.code}): ${m.stderr.slice(-2000)}`);
  let job: number | undefined;
  if (tool === 'bantay' && args.includes('--json')) job = (JSON.parse(m.stdout) as { durationSeconds?: number }).durationSeconds;
  const key = `${tree}\t${row}`;
  if (!samples.has(key)) samples.set(key, { bantay: [], restic: [] });
  samples.get(key)![tool].push({ m, job, foreign: HostCpu.foreignCores(before, await hostCpu.sample()) });
  return m;
}

async function benchTree(shape: TreeShape, rounds: number, base: { root: string; env: NodeJS.ProcessEnv }): Promise<void> {
  const spec = TREES[shape];
  const dir = join(base.root, shape);
  const uploads = join(dir, 'uploads');
  const scratchDir = join(dir, 'scratch');
  mkdirSync(scratchDir, { recursive: true });
  log(`${shape}: building ${spec.files} files / ${(spec.bytes / 1e6).toFixed(0)} MB ...`);
  const built = buildTree(uploads, spec);
  log(`${shape}: ${built.files} files, ${(built.bytes / 1e6).toFixed(0)} MB, ${((100 * built.incompressibleBytes) / built.bytes).toFixed(0)}% incompressible by bytes`);
  const restoreDir = (tool: string) => join(dir, `restored-${tool}`);
  const inodes = quietInodes(log);
  for (let round = 1; round <= rounds; round += 1) {
    const store = join(dir, 'store');
    const repo = join(dir, 'restic-repo');
    rmSync(store, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
    const env = { ...base.env, UPLOADS_DIR: uploads, BANTAY_STORE: store, RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: join(dir, 'restic-cache') };
    const ctx = { env, cwd: dir, scratchDir };
    const init = spawnSync('restic', ['init', '--repository-version', '2', '-q'], { env });
    if (init.status !== 0) throw new Error(`restic init failed: ${init.stderr}`);
    const order: Array<'bantay' | 'restic'> = round % 2 === 1 ? ['bantay', 'restic'] : ['restic', 'bantay'];
    const ids: string[] = [];
    const both = async (bantay: () => Promise<void>, restic: () => Promise<void>) => {
      for (const tool of order) await (tool === 'bantay' ? bantay() : restic());
    };
    // Each restore gets a directory of its own, all removed at the end of the round (one mass
    // deletion), and no timed restore starts within a minute of it (support/quiet-inodes.ts).
    const restored: string[] = [];
    const restore = async (row: string, compare: boolean) => {
      const into = (tool: string) => `${restoreDir(tool)}-${restored.length}`;
      const to = { bantay: into('bantay'), restic: into('restic') };
      restored.push(to.bantay, to.restic);
      await both(
        async () => {
          await inodes.wait();
          await run('bantay', row, shape, ['restore', ids.at(-1)!, '--to', to.bantay, '--json'], ctx);
        },
        async () => {
          await inodes.wait();
          await run('restic', row, shape, ['restore', 'latest', '--target', to.restic, '-q'], ctx);
        },
      );
      if (compare) {
        const diffs = [...(await compareTrees(uploads, to.bantay)), ...(await compareTrees(uploads, join(to.restic, uploads)))];
        if (diffs.length > 0) throw new Error(`${row}: restored trees differ from the live tree: ${diffs.slice(0, 5).join('; ')}`);
        log(`  ${row}: both restored trees match the live tree (content, mode, mtime)`);
      }
    };
    log(`${shape} round ${round}/${rounds} (${order.join(' first, then ')})`);
    await run('bantay', 'start-up (--version)', shape, ['--version'], ctx);
    await both(
      async () => void ids.push((JSON.parse((await run('bantay', 'full backup', shape, ['backup', 'uploads', '--full', '--json'], ctx)).stdout) as { id: string }).id),
      async () => void (await run('restic', 'full backup', shape, ['backup', '-q', uploads], ctx)),
    );
    await restore('restore full', round === 1);
    for (let k = 1; k <= opt.chain; k += 1) {
      changeFiles(uploads, spec, opt.change, k + opt.chain * (round - 1));
      const row = 'incremental (each of chain)';
      await both(
        async () => void ids.push((JSON.parse((await run('bantay', row, shape, ['backup', 'uploads', '--json'], ctx)).stdout) as { id: string }).id),
        async () => void (await run('restic', row, shape, ['backup', '-q', uploads], ctx)),
      );
      if (k === 1) await restore('restore full + 1', false);
    }
    await restore(`restore full + ${opt.chain}`, round === 1);
    await both(
      async () => void (await run('bantay', 'verify newest', shape, ['verify', ids.at(-1)!, '--json'], ctx)),
      async () => void (await run('restic', 'verify newest', shape, ['check', '--read-data', '-q'], ctx)),
    );
    for (const d of restored) rmSync(d, { recursive: true, force: true });
    inodes.deleted();
  }
}

function report(): void {
  const fmt = (n: number | undefined, digits = 2) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits));
  const med = (xs: Array<number | undefined>) => {
    const known = xs.filter((x): x is number => x !== undefined);
    return known.length === 0 ? undefined : median(known);
  };
  const header = ['tree', 'work', 'n', 'bantay wall', 'bantay job', 'restic wall', 'wall ratio', 'job ratio', 'bantay cpu', 'restic cpu', 'bantay RSS', 'restic RSS', 'RSS ratio', 'other load'];
  const rows: string[][] = [header];
  const json: unknown[] = [];
  for (const [key, s] of samples) {
    const [tree, work] = key.split('\t') as [string, string];
    const bw = med(s.bantay.map((x) => x.m.seconds));
    const bj = med(s.bantay.map((x) => x.job));
    const rw = med(s.restic.map((x) => x.m.seconds));
    const bc = med(s.bantay.map((x) => x.m.cpuSeconds));
    const rc = med(s.restic.map((x) => x.m.cpuSeconds));
    const br = med(s.bantay.map((x) => x.m.peakRssBytes));
    const rr = med(s.restic.map((x) => x.m.peakRssBytes));
    const load = med([...s.bantay, ...s.restic].map((x) => x.foreign));
    const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a / b);
    rows.push([tree, work, String(s.bantay.length), fmt(bw), fmt(bj), fmt(rw), fmt(ratio(bw, rw)), fmt(ratio(bj, rw)), fmt(bc), fmt(rc), br ? `${(br / MB).toFixed(0)} MB` : '—', rr ? `${(rr / MB).toFixed(0)} MB` : '—', fmt(ratio(br, rr)), `${fmt(load, 1)} cores`]);
    json.push({ tree, work, n: s.bantay.length, bantayWall: bw, bantayJob: bj, resticWall: rw, wallRatio: ratio(bw, rw), jobRatio: ratio(bj, rw), bantayCpu: bc, resticCpu: rc, bantayRss: br, resticRss: rr, rssRatio: ratio(br, rr), foreignCores: load });
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log('');
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  console.log(`\nmedians; wall = whole process (CLI start-up included), job = Bantay's durationSeconds (without start-up); ratio = Bantay / restic wall.`);
  console.log(`targets: full, incremental and restore wall ratio <= 1.0; RSS ratio <= 1.5. "other load" = cores other processes kept busy meanwhile.`);
  console.log(`BENCH_JSON ${JSON.stringify({ options: opt, rows: json })}`);
}

async function main(): Promise<void> {
  ensureRestic();
  const root = mkdtempSync(join(tmpdir(), 'bantay-bench-files-'));
  let cluster: PgCluster | undefined;
  const cleanup = async () => {
    await cluster?.stop().catch(() => undefined);
    if (!opt.keep) rmSync(root, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      BANTAY_DATA_DIR: join(root, 'data'),
      BANTAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      BANTAY_LOG_LEVEL: 'warn',
      BANTAY_LOG_FORMAT: 'json',
      RESTIC_PASSWORD: randomBytes(16).toString('hex'),
    };
    if (opt.state === 'postgres') {
      cluster = await startPgCluster();
      env.BANTAY_STATE_URL = await cluster.createDatabase('bantay_bench_files_state');
    }
    log(`restic: ${spawnSync('restic', ['version'], { encoding: 'utf8' }).stdout.trim()}; state: ${opt.state}; peak RSS from ${(await hasGnuTime()) ? 'GNU time' : '/proc VmHWM polling'}`);
    for (const shape of opt.trees) await benchTree(shape, shape === 'photos' ? opt.largeRounds : opt.rounds, { root, env });
    report();
  } finally {
    await cleanup();
  }
}

await main();
