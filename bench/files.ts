/**
 * Files benchmark: `npm run bench:files [-- options]`.
 *
 * Builds an uploads tree of about 20,000 files / 2 GB (mostly incompressible "photos" and PDFs,
 * a few compressible CSV/TXT files), then times, as child processes exactly as an operator runs
 * them: bare `tar -czf` of the tree, `bantay backup uploads --full`, and, after changing 1% of
 * the files, `bantay backup uploads` (an incremental). Prints times, sizes, ratios and peak RSS.
 *
 * Targets (from the issue): the full backup no slower than `tar -czf`; an incremental's time
 * and size proportional to what changed; memory flat (peak RSS independent of the tree size).
 *
 * Options:
 *   --files 20000        number of files (BENCH_FILES)
 *   --size-mb 2048       total size in MiB (BENCH_SIZE_MB)
 *   --change 1           percent of files changed before the incremental (BENCH_CHANGE)
 *   --state postgres     Bantay's state database: a throwaway PostgreSQL (default; PGlite adds a
 *                        few seconds of start-up to every command) or pglite (BENCH_STATE)
 *   --keep               keep the scratch directory (BENCH_KEEP=1)
 *
 * The last line of output is `BENCH_JSON {...}`.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, utimesSync, writeSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPgCluster, type PgCluster } from '../src/dev/pg-cluster.ts';
import { HostCpu } from './support/host-cpu.ts';
import { hasGnuTime, measure, type Measurement } from './support/measure.ts';

const MB = 1024 * 1024;
const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const BANTAY_CLI = join(PROJECT_ROOT, 'bin', 'bantay.js');

interface Options {
  files: number;
  sizeMb: number;
  changePercent: number;
  state: 'postgres' | 'pglite';
  keep: boolean;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: { files: { type: 'string' }, 'size-mb': { type: 'string' }, change: { type: 'string' }, state: { type: 'string' }, keep: { type: 'boolean' } },
  });
  const state = values.state ?? process.env.BENCH_STATE ?? 'postgres';
  if (state !== 'postgres' && state !== 'pglite') throw new Error('--state must be postgres or pglite');
  return {
    files: Number(values.files ?? process.env.BENCH_FILES ?? 20_000),
    sizeMb: Number(values['size-mb'] ?? process.env.BENCH_SIZE_MB ?? 2048),
    changePercent: Number(values.change ?? process.env.BENCH_CHANGE ?? 1),
    state,
    keep: values.keep === true || process.env.BENCH_KEEP === '1',
  };
}

// ---------------------------------------------------------------------------------------------
// The tree

const KINDS = [
  { ext: 'jpg', share: 0.86, text: false },
  { ext: 'png', share: 0.04, text: false },
  { ext: 'pdf', share: 0.06, text: false },
  { ext: 'csv', share: 0.02, text: true },
  { ext: 'txt', share: 0.02, text: true },
];

/** Deterministic per-file choices from the file number. */
function fileSpec(i: number, files: number, averageBytes: number): { path: string; size: number; text: boolean } {
  const u = ((i * 2654435761) % 4294967296) / 4294967296;
  const v = ((i * 40503 + 12345) % 65536) / 65536;
  let acc = 0;
  const kind = KINDS.find((k) => (acc += k.share) > v) ?? KINDS[0]!;
  const month = (i % 24) + 1;
  const dir = `receipts/${2025 + Math.floor((month - 1) / 12)}/${String(((month - 1) % 12) + 1).padStart(2, '0')}/branch-${i % 7}`;
  void files;
  return { path: `${dir}/resibo ${String(i).padStart(6, '0')}.${kind.ext}`, size: Math.max(1024, Math.round(averageBytes * (0.2 + 1.6 * u))), text: kind.text };
}

const TEXT_ROW = 'petsa,halaga,nagbayad,paraan\n2026-11-26,1250.00,"Dela Cruz, Juan",gcash\n';

function writeFile(path: string, size: number, text: boolean, buffer: Buffer): void {
  const data = buffer.subarray(0, size);
  if (text) {
    data.write(TEXT_ROW.repeat(Math.ceil(size / TEXT_ROW.length)).slice(0, size));
    randomFillSync(data, 0, Math.min(size, 16)); // a little noise so files differ
  } else {
    randomFillSync(data);
  }
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

function buildTree(root: string, options: Options): { files: number; bytes: number; incompressibleBytes: number } {
  const average = (options.sizeMb * MB) / options.files;
  const buffer = Buffer.allocUnsafe(Math.ceil(average * 2) + 1024);
  const old = Date.now() / 1000 - 30 * 86_400;
  let bytes = 0;
  let incompressibleBytes = 0;
  const dirs = new Set<string>();
  for (let i = 0; i < options.files; i += 1) {
    const spec = fileSpec(i, options.files, average);
    const path = join(root, spec.path);
    const dir = path.slice(0, path.lastIndexOf('/'));
    if (!dirs.has(dir)) mkdirSync(dir, { recursive: true });
    dirs.add(dir);
    writeFile(path, spec.size, spec.text, buffer);
    utimesSync(path, old, old);
    bytes += spec.size;
    if (!spec.text) incompressibleBytes += spec.size;
  }
  return { files: options.files, bytes, incompressibleBytes };
}

/** Rewrites every Nth file with new content (same kind, new size): the day's "changes". */
function changeFiles(root: string, options: Options): { files: number; bytes: number } {
  const average = (options.sizeMb * MB) / options.files;
  const buffer = Buffer.allocUnsafe(Math.ceil(average * 2) + 1024);
  const every = Math.max(1, Math.round(100 / options.changePercent));
  const recent = Date.now() / 1000 - 3600;
  let files = 0;
  let bytes = 0;
  for (let i = 0; i < options.files; i += every) {
    const spec = fileSpec(i, options.files, average);
    const size = Math.max(1024, Math.round(spec.size * 0.9));
    writeFile(join(root, spec.path), size, spec.text, buffer);
    utimesSync(join(root, spec.path), recent, recent);
    files += 1;
    bytes += size;
  }
  return { files, bytes };
}

function duSize(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Runs

interface Run {
  name: string;
  m: Measurement;
  outputBytes: number;
  /** Average cores other processes kept busy meanwhile: timings are suspect when high. */
  foreignCores: number | undefined;
}

const hostCpu = new HostCpu();

async function timed(program: string, args: string[], common: Parameters<typeof measure>[2]): Promise<{ m: Measurement; foreignCores: number | undefined }> {
  const before = await hostCpu.sample();
  const m = await measure(program, args, common);
  if (m.code !== 0) throw new Error(`${program} ${args.join(' ')} failed: ${m.stderr}`);
  return { m, foreignCores: HostCpu.foreignCores(before, await hostCpu.sample()) };
}

function fmtMb(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / MB).toFixed(1)} MiB`;
}

function fmtS(seconds: number | undefined): string {
  return seconds === undefined ? '?' : `${seconds.toFixed(2)}s`;
}

async function main(): Promise<void> {
  const options = readOptions();
  const root = mkdtempSync(join(tmpdir(), 'bantay-bench-files-'));
  let cluster: PgCluster | undefined;
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const cleanup = async () => {
    await cluster?.stop().catch(() => undefined);
    if (!options.keep) rmSync(root, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const uploads = join(root, 'uploads');
    const scratch = join(root, 'scratch');
    mkdirSync(scratch);
    log(`Building ${options.files} files / ${options.sizeMb} MiB in ${uploads} ...`);
    const started = Date.now();
    const tree = buildTree(uploads, options);
    log(`  ${tree.files} files, ${fmtMb(tree.bytes)} (${((100 * tree.incompressibleBytes) / tree.bytes).toFixed(0)}% incompressible) in ${fmtS((Date.now() - started) / 1000)}`);

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      UPLOADS_DIR: uploads,
      BANTAY_STORE: join(root, 'store'),
      BANTAY_DATA_DIR: join(root, 'data'),
      BANTAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      BANTAY_LOG_LEVEL: 'warn',
      BANTAY_LOG_FORMAT: 'json',
    };
    if (options.state === 'postgres') {
      cluster = await startPgCluster();
      env.BANTAY_STATE_URL = await cluster.createDatabase('bantay_bench_files_state');
    }
    log(`State database: ${options.state}; peak RSS from ${(await hasGnuTime()) ? 'GNU time' : '/proc VmHWM polling'}`);
    const common = { env, cwd: root, scratchDir: scratch };
    const runs: Run[] = [];

    log('tar -czf ...');
    const tgz = join(root, 'uploads.tgz');
    const tar = await timed('tar', ['-czf', tgz, '-C', uploads, '.'], common);
    runs.push({ name: 'tar -czf', ...tar, outputBytes: statSync(tgz).size });
    rmSync(tgz);

    log('bantay backup uploads --full ...');
    const full = await timed(process.execPath, [BANTAY_CLI, 'backup', 'uploads', '--full', '--json'], common);
    const fullJson = JSON.parse(full.m.stdout) as { id: string; sizeBytes: number; files: { storedFiles: number; compressedFiles: number } };
    runs.push({ name: 'bantay backup uploads --full', ...full, outputBytes: fullJson.sizeBytes });

    const changed = changeFiles(uploads, options);
    log(`Changed ${changed.files} files (${fmtMb(changed.bytes)}); bantay backup uploads (incremental) ...`);
    const incr = await timed(process.execPath, [BANTAY_CLI, 'backup', 'uploads', '--json'], common);
    const incrJson = JSON.parse(incr.m.stdout) as { id: string; sizeBytes: number; files: { storedFiles: number; sizeBytes: number; totalBytes: number }; chain: { sequence: number } };
    runs.push({ name: 'bantay backup uploads (incremental)', ...incr, outputBytes: incrJson.sizeBytes + incrJson.files.sizeBytes });

    log('bantay --version (start-up cost of every command) ...');
    const startup = await timed(process.execPath, [BANTAY_CLI, '--version'], common);
    runs.push({ name: 'bantay --version', ...startup, outputBytes: 0 });
    report(options, tree, changed, runs, { full: fullJson, incr: incrJson, storeBytes: duSize(join(root, 'store')) });
  } finally {
    await cleanup();
  }
}

function report(
  options: Options,
  tree: { files: number; bytes: number },
  changed: { files: number; bytes: number },
  runs: Run[],
  extra: { full: { files: { compressedFiles: number } }; incr: { files: { storedFiles: number } }; storeBytes: number },
): void {
  const [tar, full, incr, startup] = runs as [Run, Run, Run, Run];
  const rows = [['run', 'time', 'cpu', 'output', 'output/tree', 'peak RSS', 'other load']];
  for (const r of runs) {
    const load = r.foreignCores === undefined ? '?' : `${r.foreignCores.toFixed(2)} cores`;
    rows.push([r.name, fmtS(r.m.seconds), fmtS(r.m.cpuSeconds), fmtMb(r.outputBytes), `${((100 * r.outputBytes) / tree.bytes).toFixed(1)}%`, fmtMb(r.m.peakRssBytes), load]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`\nUploads tree: ${tree.files} files, ${fmtMb(tree.bytes)}; changed before the incremental: ${changed.files} files, ${fmtMb(changed.bytes)}\n`);
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  const speedup = tar.m.seconds / full.m.seconds;
  const timeShare = incr.m.seconds / full.m.seconds;
  const sizeShare = incr.outputBytes / full.outputBytes;
  console.log(`
full backup vs tar -czf:      ${speedup.toFixed(2)}x faster (${fmtS(full.m.seconds)} vs ${fmtS(tar.m.seconds)}); ${extra.full.files.compressedFiles} files gzip-compressed, the rest stored as they are
incremental vs full:          ${(100 * timeShare).toFixed(1)}% of the time, ${(100 * sizeShare).toFixed(2)}% of the size (${extra.incr.files.storedFiles} files stored; ${((100 * changed.bytes) / tree.bytes).toFixed(2)}% of the bytes changed)
incremental minus start-up:   ${fmtS(incr.m.seconds - startup.m.seconds)} (bantay --version alone takes ${fmtS(startup.m.seconds)}, ${fmtMb(startup.m.peakRssBytes)})
peak RSS full / incremental:  ${fmtMb(full.m.peakRssBytes)} / ${fmtMb(incr.m.peakRssBytes)} (tree ${fmtMb(tree.bytes)})
store after both:             ${fmtMb(extra.storeBytes)}
targets: full no slower than tar -czf: ${speedup >= 1 ? 'MET' : 'MISSED'}; incremental size proportional to the change: ${sizeShare < 3 * (changed.bytes / tree.bytes) + 0.01 ? 'MET' : 'MISSED'}`);
  console.log(
    `BENCH_JSON ${JSON.stringify({
      options,
      tree,
      changed,
      runs: runs.map((r) => ({ name: r.name, seconds: r.m.seconds, cpuSeconds: r.m.cpuSeconds ?? null, outputBytes: r.outputBytes, peakRssBytes: r.m.peakRssBytes ?? null, foreignCores: r.foreignCores ?? null })),
      speedupVsTar: speedup,
      incrementalTimeShare: timeShare,
      incrementalSizeShare: sizeShare,
    })}`,
  );
}

await main();
