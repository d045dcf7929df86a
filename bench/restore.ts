/**
 * Restore benchmark: `npm run bench:restore [-- options]`.
 *
 * On the same dump, times bare `pg_restore -j N -d DB FILE` from a local plaintext file against
 * `bantay restore ID --target-db DB --jobs N` (a child process, as an operator runs it) from the
 * local store and from the S3 test server, plus `bantay verify`, in interleaved rounds at each
 * size. Prints medians, ratios to bare pg_restore, verify/restore ratio and peak RSS.
 *
 * Targets (issue 13): ratio <= 1.1 of bare pg_restore with the same --jobs, from the local store
 * (Bantay's restore includes its verification: row counts, core tables, the rename); peak RSS
 * <= 150 MB and flat across sizes.
 *
 * Options (or environment variables):
 *   --sizes 50,200     MB on disk per database (BENCH_SIZES), default 50,200
 *   --rounds 3         timed rounds per size (BENCH_ROUNDS)
 *   --jobs 1,2         pg_restore --jobs values to compare (BENCH_JOBS), default 1,2
 *   --no-s3            skip the S3 variant (BENCH_S3=0)
 *   --state postgres|pglite
 *                      Bantay's state database (BENCH_STATE): a database on the benchmark
 *                      cluster (default: measures the restore, not embedded-database start-up)
 *                      or PGlite under BANTAY_DATA_DIR, as configured out of the box
 *   --pg-url URL       use this PostgreSQL server (superuser URL) instead of a throwaway one
 *
 * The last line of output is `BENCH_JSON {...}`.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { readManifest } from '../src/catalog/catalog.ts';
import { KeyRing, parseKey } from '../src/crypto/keys.ts';
import { createFbmsSchema, seedFbmsData } from '../src/dev/fbms-fixture.ts';
import { pgBinary } from '../src/dev/pg-binaries.ts';
import { startPgCluster, type PgCluster } from '../src/dev/pg-cluster.ts';
import { openArtifact } from '../src/jobs/read-artifact.ts';
import { createLocalStore } from '../src/storage/local-store.ts';
import { createTestBucket, startS3TestServer, TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../test/support/s3-server.ts';
import { hasGnuTime, measure, median, type Measurement } from './support/measure.ts';

const MB = 1024 * 1024;
const TARGET_RATIO_LOCAL = 1.1;
const TARGET_RSS_MB = 150;
const RSS_GROWTH_TOLERANCE_MB = 15;
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'bin', 'bantay.js');

const { values } = parseArgs({
  options: { sizes: { type: 'string' }, rounds: { type: 'string' }, jobs: { type: 'string' }, 'no-s3': { type: 'boolean' }, state: { type: 'string' }, 'pg-url': { type: 'string' } },
});
const sizes = (values.sizes ?? process.env.BENCH_SIZES ?? '50,200').split(',').map(Number);
const rounds = Number(values.rounds ?? process.env.BENCH_ROUNDS ?? '3');
const jobsList = (values.jobs ?? process.env.BENCH_JOBS ?? '1,2').split(',').map(Number);
const withS3 = !(values['no-s3'] || process.env.BENCH_S3 === '0');
const state = (values.state ?? process.env.BENCH_STATE ?? 'postgres') as 'postgres' | 'pglite';
if (sizes.some((n) => !(n > 0)) || !(rounds >= 1) || jobsList.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error('usage: npm run bench:restore -- [--sizes 50,200] [--rounds 3] [--jobs 1,2] [--no-s3] [--state postgres|pglite] [--pg-url URL]');
  process.exit(2);
}

const cleanups: Array<() => Promise<unknown>> = [];
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

interface Ctx {
  cluster: PgCluster;
  root: string;
  key: string;
  baseEnv: NodeJS.ProcessEnv;
  s3Env: NodeJS.ProcessEnv | undefined;
}

interface Result {
  sizeMb: number;
  variant: string;
  jobs: number;
  m: Measurement;
  /** Bantay's own measured RTO (from --json), without process start-up. */
  jobSeconds: number | undefined;
}

async function sql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function pgEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  return { PATH: process.env.PATH, PGHOST: u.hostname, PGPORT: u.port, PGUSER: decodeURIComponent(u.username), PGPASSWORD: decodeURIComponent(u.password) };
}

async function buildDatabase(ctx: Ctx, sizeMb: number): Promise<string> {
  const name = `bench_restore_${sizeMb}mb`;
  await ctx.cluster.dropDatabase(name);
  const url = await ctx.cluster.createDatabase(name);
  log(`seeding ${name} to about ${sizeMb} MB...`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await createFbmsSchema(client);
  await seedFbmsData(client, { targetBytes: sizeMb * MB });
  await client.query('VACUUM ANALYZE');
  await client.end();
  return url;
}

/** One backup per store (local and S3) and the plaintext dump for bare pg_restore, from the same database. */
async function prepare(ctx: Ctx, dbUrl: string, sizeMb: number) {
  const env = (extra: NodeJS.ProcessEnv | undefined) => ({ ...ctx.baseEnv, ...extra, DATABASE_URL: dbUrl });
  const backup = async (extra: NodeJS.ProcessEnv | undefined) => {
    const m = await measure(process.execPath, [CLI, 'backup', 'database', '--json'], { env: env(extra), cwd: ctx.root, scratchDir: ctx.root });
    if (m.code !== 0) throw new Error(`backup failed: ${m.stderr.slice(-2000)}`);
    return (JSON.parse(m.stdout.trim().split('\n').pop()!) as { id: string; sizeBytes: number }).id;
  };
  const localId = await backup(undefined);
  const s3Id = ctx.s3Env ? await backup(ctx.s3Env) : undefined;
  const file = join(ctx.root, `plain-${sizeMb}.dump`);
  const deps = { store: createLocalStore(ctx.baseEnv.BANTAY_STORE!), keyRing: new KeyRing(parseKey(ctx.key), []) };
  await pipeline(await openArtifact(await readManifest(deps.store, deps, localId), deps), createWriteStream(file));
  return { localId, s3Id, file, dbUrl };
}

async function runVariant(ctx: Ctx, p: Awaited<ReturnType<typeof prepare>>, variant: string, jobs: number, sizeMb: number): Promise<Result> {
  const target = `bench_target_${Math.random().toString(36).slice(2, 8)}`;
  const adminUrl = ctx.cluster.adminUrl;
  try {
    let m: Measurement;
    if (variant === 'pg_restore') {
      await sql(adminUrl, `CREATE DATABASE ${target} TEMPLATE template0`);
      m = await measure(pgBinary('pg_restore'), [`--jobs=${jobs}`, `--dbname=${target}`, p.file], { env: pgEnv(adminUrl), cwd: ctx.root, scratchDir: ctx.root });
    } else {
      const extra = variant === 'bantay s3' ? ctx.s3Env : undefined;
      const id = variant === 'bantay s3' ? p.s3Id! : p.localId;
      const args = variant === 'bantay verify' ? ['verify', id, '--jobs', String(jobs), '--json'] : ['restore', id, '--target-db', target, '--jobs', String(jobs), '--json'];
      m = await measure(process.execPath, [CLI, ...args], { env: { ...ctx.baseEnv, ...extra, DATABASE_URL: p.dbUrl }, cwd: ctx.root, scratchDir: ctx.root });
    }
    if (m.code !== 0) throw new Error(`${variant} exited ${m.code ?? m.signal}: ${m.stderr.slice(-2000)}`);
    const out = variant === 'pg_restore' ? undefined : (JSON.parse(m.stdout.trim().split('\n').pop()!) as { rtoSeconds?: number; restoreSeconds?: number });
    return { sizeMb, variant, jobs, m, jobSeconds: out?.rtoSeconds ?? out?.restoreSeconds };
  } finally {
    await ctx.cluster.dropDatabase(target);
  }
}

function report(results: Result[]): { pass: boolean; rows: unknown[] } {
  const fmt = (n: number | undefined, d = 2) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
  const rows: Array<Record<string, number | string | undefined>> = [];
  for (const sizeMb of sizes) {
    for (const jobs of jobsList) {
      const of = (variant: string) => results.filter((r) => r.sizeMb === sizeMb && r.jobs === jobs && r.variant === variant);
      const base = median(of('pg_restore').map((r) => r.m.seconds));
      const restore = median(of('bantay local').map((r) => r.m.seconds));
      for (const variant of ['pg_restore', 'bantay local', 'bantay s3', 'bantay verify']) {
        const runs = of(variant);
        if (runs.length === 0) continue;
        const secs = median(runs.map((r) => r.m.seconds));
        const rss = runs.map((r) => r.m.peakRssBytes ?? Number.NaN);
        const job = runs.map((r) => r.jobSeconds).filter((x): x is number => x !== undefined);
        rows.push({
          size: `${sizeMb} MB`,
          jobs,
          variant,
          medianS: secs,
          jobS: job.length ? median(job) : undefined,
          ratio: variant === 'bantay verify' ? secs / restore : secs / base,
          rssMaxMb: Math.max(...rss) / MB,
        });
      }
    }
  }
  const header = ['db size', 'jobs', 'variant', 'median s', 'job s', 'ratio', 'peak RSS MB'];
  const table = [header, ...rows.map((r) => [String(r.size), String(r.jobs), String(r.variant), fmt(r.medianS as number), fmt(r.jobS as number | undefined), fmt(r.ratio as number, 3), fmt(r.rssMaxMb as number, 1)])];
  const widths = header.map((_, i) => Math.max(...table.map((t) => t[i]!.length)));
  console.log('');
  for (const line of table) console.log(line.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  console.log('\n  ratio: median / bare pg_restore (same jobs, same size); for "bantay verify": verify / bantay restore (local)');
  console.log('  job s: Bantay\'s own measured RTO (restore + verification + rename), without node start-up; RSS: the Bantay node process (pg_restore: itself)\n');
  let pass = true;
  for (const r of rows.filter((x) => x.variant === 'bantay local')) {
    const ok = (r.ratio as number) <= TARGET_RATIO_LOCAL;
    pass &&= ok;
    console.log(`${ok ? 'PASS' : 'FAIL'}  ratio <= ${TARGET_RATIO_LOCAL} from the local store, ${r.size}, jobs ${r.jobs}: ${fmt(r.ratio as number, 3)}`);
  }
  for (const r of rows.filter((x) => String(x.variant).startsWith('bantay'))) {
    const ok = (r.rssMaxMb as number) <= TARGET_RSS_MB;
    pass &&= ok;
    console.log(`${ok ? 'PASS' : 'FAIL'}  peak RSS <= ${TARGET_RSS_MB} MB, ${r.variant}, ${r.size}, jobs ${r.jobs}: ${fmt(r.rssMaxMb as number, 1)} MB`);
  }
  for (const jobs of jobsList) {
    for (const variant of ['bantay local', 'bantay s3']) {
      const at = sizes.map((s) => rows.find((r) => r.size === `${s} MB` && r.jobs === jobs && r.variant === variant)?.rssMaxMb as number | undefined);
      if (at.length < 2 || at.some((x) => x === undefined)) continue;
      const growth = at.at(-1)! - at[0]!;
      const ok = growth <= RSS_GROWTH_TOLERANCE_MB;
      pass &&= ok;
      console.log(`${ok ? 'PASS' : 'FAIL'}  RSS flat, ${variant}, jobs ${jobs}: ${at.map((x) => fmt(x, 1)).join(' -> ')} MB (${growth >= 0 ? '+' : ''}${fmt(growth, 1)} MB)`);
    }
  }
  return { pass, rows };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'bantay-bench-restore-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  log(`bench:restore: sizes ${sizes.join(',')} MB, ${rounds} rounds, jobs ${jobsList.join(',')}, S3 ${withS3 ? 'on' : 'off'}, state ${state}, ${cpus().length} CPUs, RSS via ${(await hasGnuTime()) ? 'GNU time' : '/proc polling'}`);
  const cluster = await startPgCluster({ externalUrl: values['pg-url'] ?? process.env.BENCH_PG_URL });
  cleanups.push(() => cluster.stop());
  const key = parseKey(Buffer.alloc(32, 7).toString('base64')).key.toString('base64');
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    BANTAY_STORE: join(root, 'store'),
    BANTAY_DATA_DIR: join(root, 'data'),
    BANTAY_ENCRYPTION_KEY: key,
    BANTAY_LOG_LEVEL: 'warn',
    ...(state === 'postgres' ? { BANTAY_STATE_URL: await cluster.createDatabase('bench_state') } : {}),
  };
  await mkdir(baseEnv.BANTAY_DATA_DIR!, { recursive: true });
  let s3Env: NodeJS.ProcessEnv | undefined;
  if (withS3) {
    const server = await startS3TestServer();
    cleanups.push(() => server.stop());
    const bucket = await createTestBucket(server.endpoint);
    s3Env = { BANTAY_STORE: `s3://${bucket}/bench`, S3_ENDPOINT: server.endpoint, S3_REGION: TEST_S3_REGION, AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey };
  }
  const ctx: Ctx = { cluster, root, key, baseEnv, s3Env };
  const variants = ['pg_restore', 'bantay local', ...(withS3 ? ['bantay s3'] : []), 'bantay verify'];
  const results: Result[] = [];
  for (const sizeMb of sizes) {
    const prepared = await prepare(ctx, await buildDatabase(ctx, sizeMb), sizeMb);
    log(`warm-up on ${sizeMb} MB (tsx cache, page cache), not counted`);
    for (const v of variants) await runVariant(ctx, prepared, v, jobsList[0]!, sizeMb);
    for (let round = 1; round <= rounds; round += 1) {
      for (const jobs of jobsList) {
        const shift = round % variants.length;
        for (const variant of [...variants.slice(shift), ...variants.slice(0, shift)]) {
          const r = await runVariant(ctx, prepared, variant, jobs, sizeMb);
          results.push(r);
          log(`  ${sizeMb} MB round ${round} jobs ${jobs} ${variant}: ${r.m.seconds.toFixed(2)} s${r.jobSeconds !== undefined ? ` (job ${r.jobSeconds.toFixed(2)} s)` : ''}, RSS ${((r.m.peakRssBytes ?? 0) / MB).toFixed(1)} MB`);
        }
      }
    }
  }
  const { pass, rows } = report(results);
  console.log(`BENCH_JSON ${JSON.stringify({ bench: 'restore', date: new Date().toISOString(), sizes, rounds, jobs: jobsList, state, rows, pass })}`);
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`bench:restore failed: ${(err as Error).stack ?? String(err)}`);
  code = 1;
} finally {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
}
process.exit(code);
