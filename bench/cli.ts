/**
 * CLI start-up benchmark: `npm run bench:cli [-- options]`.
 *
 * Makes 50 real local backups (application backups of a small directory, through the CLI's
 * own code) and 50 restic snapshots of the same directory, then, in interleaved rounds, times
 * `bantay --help`, `bantay list` over the 50 backups and `restic snapshots` over the 50
 * snapshots, each as a fresh process exactly as an operator runs it, and prints medians,
 * peak RSS and the ratio.
 *
 * Targets (issue 13): `bantay --help` <= 0.3 s; `bantay list` <= 1.0x `restic snapshots`.
 * restic comes from Debian's `restic` package, installed with apt-get when missing (as root).
 * `bin/bantay.js` runs the built JavaScript when dist/ is fresh: run `npm run build` first,
 * or the numbers are those of the TypeScript sources through tsx (the bench says which).
 *
 * Options (or environment variables):
 *   --rounds 5            timed rounds (BENCH_ROUNDS)
 *   --backups 50          backups and snapshots to list (BENCH_BACKUPS)
 *
 * The last line of output is `BENCH_JSON {...}`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { chooseEntry } from '../bin/entry.js';
import { main as bantayMain } from '../src/cli/main.ts';
import { measure, median, type Measurement } from './support/measure.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BANTAY = join(ROOT, 'bin', 'bantay.js');
const HELP_TARGET_SECONDS = 0.3;
const LIST_TARGET_RATIO = 1.0;
const MB = 1024 * 1024;

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '5' }, backups: { type: 'string', default: process.env.BENCH_BACKUPS ?? '50' } },
});
const rounds = Number(values.rounds);
const backups = Number(values.backups);

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function ensureRestic(): Promise<string> {
  const found = spawnSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).stdout.trim();
  if (found !== '') return found;
  log('restic is missing: apt-get install restic');
  spawnSync('apt-get', ['update'], { stdio: 'inherit' });
  const installed = spawnSync('apt-get', ['install', '-y', 'restic'], { stdio: 'inherit' });
  if (installed.status !== 0) throw new Error('could not install restic (run as root, or install it yourself)');
  return 'restic';
}

/** A small application tree: 40 files, 2 MB. */
function makeTree(dir: string): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  for (let i = 0; i < 40; i++) writeFileSync(join(dir, 'src', `file-${i}.js`), `// ${i}\n`.repeat(2 * MB / 40 / 6));
}

async function main(): Promise<number> {
  const restic = await ensureRestic();
  const work = mkdtempSync(join(tmpdir(), 'bantay-bench-cli-'));
  process.on('exit', () => rmSync(work, { recursive: true, force: true }));
  const tree = join(work, 'app');
  makeTree(tree);
  const store = join(work, 'store');
  const env = { PATH: process.env.PATH ?? '', HOME: work, BANTAY_STORE: store, BANTAY_DATA_DIR: join(work, 'var'), APP_DIR: tree, BANTAY_LOG_LEVEL: 'warn' };
  const resticEnv = { PATH: process.env.PATH ?? '', HOME: work, RESTIC_REPOSITORY: join(work, 'restic'), RESTIC_PASSWORD: 'bench-only-password', RESTIC_CACHE_DIR: join(work, 'restic-cache') };

  log(`making ${backups} Bantay backups and ${backups} restic snapshots of a 2 MB tree...`);
  await run(restic, ['init'], { env: resticEnv });
  for (let i = 0; i < backups; i++) {
    const code = await bantayMain(['backup', 'application', '--json'], { env, cwd: work, stdout: devNull(), stderr: devNull() });
    if (code !== 0) throw new Error(`bantay backup application failed (exit ${code})`);
    await run(restic, ['backup', '--quiet', tree], { env: resticEnv });
  }
  // Warm the caches (restic's index cache, the OS page cache) once before timing.
  await run(restic, ['snapshots'], { env: resticEnv });

  const entry = chooseEntry(process.env);
  log(`bin/bantay.js runs ${entry.kind === 'dist' ? 'the built JavaScript (dist/)' : `the sources through tsx (${entry.reason}; run npm run build)`}`);
  const scratch = join(work, 'scratch');
  mkdirSync(scratch);
  const results: Record<'help' | 'list' | 'restic', Measurement[]> = { help: [], list: [], restic: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const name of ['help', 'list', 'restic'] as const) {
      const m =
        name === 'restic'
          ? await measure(restic, ['snapshots'], { env: resticEnv, cwd: work, scratchDir: scratch })
          : await measure(process.execPath, [BANTAY, ...(name === 'help' ? ['--help'] : ['list'])], { env, cwd: work, scratchDir: scratch });
      if (m.code !== 0) throw new Error(`${name} failed: ${m.stderr}`);
      if (name === 'list' && (m.stdout.match(/^app-/gm)?.length ?? 0) < backups) throw new Error(`bantay list printed fewer than ${backups} backups:\n${m.stdout}`);
      results[name].push(m);
    }
    log(`round ${round}/${rounds}: help ${results.help.at(-1)!.seconds.toFixed(3)} s, list ${results.list.at(-1)!.seconds.toFixed(3)} s, restic ${results.restic.at(-1)!.seconds.toFixed(3)} s`);
  }
  const med = (name: keyof typeof results) => median(results[name].map((m) => m.seconds));
  const rss = (name: keyof typeof results) => median(results[name].map((m) => m.peakRssBytes ?? NaN)) / MB;
  const ratio = med('list') / med('restic');
  const verdicts = [
    { target: `bantay --help <= ${HELP_TARGET_SECONDS} s`, pass: med('help') <= HELP_TARGET_SECONDS, detail: `${med('help').toFixed(3)} s` },
    { target: `bantay list <= ${LIST_TARGET_RATIO}x restic snapshots (${backups} each)`, pass: ratio <= LIST_TARGET_RATIO, detail: `${ratio.toFixed(2)}x` },
  ];
  console.log(`\n| command | median wall | median peak RSS |\n|---|---|---|`);
  console.log(`| bantay --help | ${med('help').toFixed(3)} s | ${rss('help').toFixed(0)} MB |`);
  console.log(`| bantay list (${backups} backups) | ${med('list').toFixed(3)} s | ${rss('list').toFixed(0)} MB |`);
  console.log(`| restic snapshots (${backups} snapshots) | ${med('restic').toFixed(3)} s | ${rss('restic').toFixed(0)} MB |`);
  console.log(`\nlist / restic: ${ratio.toFixed(2)}x (${rounds} interleaved rounds, medians; entry: ${entry.kind})`);
  for (const v of verdicts) console.log(`${v.pass ? 'PASS' : 'FAIL'} ${v.target}: ${v.detail}`);
  console.log(
    `BENCH_JSON ${JSON.stringify({ entry: entry.kind, rounds, backups, helpSeconds: med('help'), listSeconds: med('list'), resticSeconds: med('restic'), ratio, rssMb: { help: rss('help'), list: rss('list'), restic: rss('restic') }, verdicts })}`,
  );
  return verdicts.every((v) => v.pass) ? 0 : 1;
}

function devNull(): NodeJS.WriteStream {
  return { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
}

process.exitCode = await main();
