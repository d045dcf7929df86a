/**
 * Point-in-time recovery benchmark: `npm run bench:pitr [-- options]` (issue 10).
 *
 * One throwaway cluster (wal_level=replica) with an FBMS-like database, archived two ways at
 * once: pgBackRest (Debian's package, installed with apt when missing) through archive_command,
 * encrypted with aes-256-cbc; Bantay through `bantay wal stream` (pg_receivewal over its own
 * slot, AES-256-GCM), as BANTAY_WAL=stream runs it. Then, interleaved and repeated:
 *
 *   base backup   `bantay backup base`  vs  `pgbackrest backup --type=full --compress-type=zst --process-max=2`
 *   restore       to the same target time, ending with a running recovered cluster:
 *                 `bantay restore --time T --to-dir DIR` + start  vs  `pgbackrest restore --type=time`
 *                 + start until promoted; plus `bantay restore --time T --target-db` (into the
 *                 running server, through the verified dump path: Bantay only)
 *   load          pgbench at this machine's full rate while sampling every second the recovery
 *                 point of each: time since its newest archived WAL (Bantay: the stream's own
 *                 status file, pgBackRest: pg_stat_archiver.last_archived_time)
 *
 * Every restored cluster is checked: the marker row committed before T is there, the one after
 * is not. Medians, ratios and peak RSS (GNU time, or VmHWM for the long-running stream) are
 * printed; the last line is `BENCH_JSON {...}`.
 *
 * Targets: base backup <= 1.0x pgBackRest; restore <= 1.2x pgBackRest; recovery point p99 <= 60 s
 * under load; peak RSS of each Bantay process <= 150 MB.
 *
 * Options (or environment variables):
 *   --size-mb 400   FBMS-like database size (BENCH_SIZE_MB)
 *   --rounds 3      timed rounds of each comparison (BENCH_ROUNDS)
 *   --load-s 60     seconds of pgbench load (BENCH_LOAD_S)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createFbmsSchema, seedFbmsData } from '../src/dev/fbms-fixture.ts';
import { pgBinary } from '../src/dev/pg-binaries.ts';
import { freePort, unprivilegedUser } from '../src/dev/pg-cluster-process.ts';
import { startPgCluster, type PgCluster } from '../src/dev/pg-cluster.ts';
import { withDatabase } from '../src/jobs/pg/connection.ts';
import { chooseEntry } from '../bin/entry.js';
import { hasGnuTime, measure, median, type Measurement } from './support/measure.ts';
import { quietInodes } from './support/quiet-inodes.ts';

const MB = 1024 * 1024;
const TARGET_BASE_RATIO = 1.0;
const TARGET_RESTORE_RATIO = 1.2;
const TARGET_RPO_P99_S = 60;
const TARGET_RSS_MB = 150;
const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Set by main: bin/bantay.js of a private copy of the built app (see snapshotApp). */
let CLI = join(ROOT, 'bin', 'bantay.js');
const STANZA = 'bench';

const { values } = parseArgs({ options: { 'size-mb': { type: 'string' }, rounds: { type: 'string' }, 'load-s': { type: 'string' } } });
const sizeMb = Number(values['size-mb'] ?? process.env.BENCH_SIZE_MB ?? '400');
const rounds = Number(values.rounds ?? process.env.BENCH_ROUNDS ?? '3');
const loadSeconds = Number(values['load-s'] ?? process.env.BENCH_LOAD_S ?? '60');
if (!(sizeMb > 0) || !(rounds >= 1) || !(loadSeconds >= 5)) {
  console.error('usage: npm run bench:pitr -- [--size-mb 400] [--rounds 3 (at least 1)] [--load-s 60 (at least 5)]');
  process.exit(2);
}

const cleanups: Array<() => Promise<unknown>> = [];
const children = new Set<ChildProcess>();
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function query<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** pgBackRest from Debian's package, installed when missing (the bench may; tests never need it). */
function ensurePgBackRest(): string {
  const found = spawnSync('sh', ['-c', 'command -v pgbackrest'], { encoding: 'utf8' }).stdout.trim();
  if (found !== '') return found;
  log('pgbackrest not found: installing Debian\'s package');
  const r = spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('could not install pgbackrest with apt-get');
  return '/usr/bin/pgbackrest';
}

interface Setup {
  root: string;
  cluster: PgCluster;
  dataDir: string;
  socketDir: string;
  fbmsUrl: string;
  user: { uid: number; gid: number } | undefined;
  pgbackrest: string;
  pgbrConf: string;
  bantayEnv: NodeJS.ProcessEnv;
  streamStatusFile: string;
}

/** Runs a program as the cluster's OS user (pgBackRest reads and writes the data directory). */
function asClusterUser(s: Pick<Setup, 'user'>, program: string, args: string[]): [string, string[]] {
  if (s.user === undefined) return [program, args];
  return ['setpriv', [`--reuid=${s.user.uid}`, `--regid=${s.user.gid}`, '--clear-groups', program, ...args]];
}

function pgbr(s: Setup, ...args: string[]): [string, string[]] {
  return asClusterUser(s, s.pgbackrest, [`--config=${s.pgbrConf}`, `--stanza=${STANZA}`, ...args]);
}

async function run(cmd: [string, string[]], env: NodeJS.ProcessEnv, cwd: string, what: string): Promise<Measurement> {
  const m = await measure(cmd[0], cmd[1], { env, cwd, scratchDir: cwd, running: children });
  if (m.code !== 0) throw new Error(`${what} exited ${m.code ?? m.signal}: ${(m.stderr || m.stdout).slice(-3000)}`);
  return m;
}

function owned(dir: string, s: Pick<Setup, 'user'>, mode = 0o700): string {
  mkdirSync(dir, { recursive: true, mode });
  chmodSync(dir, mode);
  if (s.user) chownSync(dir, s.user.uid, s.user.gid);
  return dir;
}

async function setUp(): Promise<Setup> {
  const root = await mkdtemp(join(tmpdir(), 'bantay-bench-pitr-'));
  chmodSync(root, 0o755);
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const pgbackrest = ensurePgBackRest();
  const user = unprivilegedUser();
  // Archiving is off while seeding (no point archiving the load of 400 MB); it is switched to
  // pgBackRest's archive-push by a reload before anything is measured.
  const cluster = await startPgCluster({ settings: { wal_level: 'replica', max_wal_senders: '10', archive_mode: 'on', archive_command: "'/bin/true'", max_wal_size: "'2GB'", max_replication_slots: '10' } });
  cleanups.push(() => cluster.stop());
  const dataDir = cluster.dataDir!;
  // postmaster.pid line 5 is the socket directory (pgBackRest talks to the server over it).
  const socketDir = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[4]!.trim();
  const fbmsUrl = await cluster.createDatabase('fbms_bench');
  log(`seeding an FBMS-like database of about ${sizeMb} MB...`);
  const client = new pg.Client({ connectionString: fbmsUrl });
  await client.connect();
  await createFbmsSchema(client);
  await seedFbmsData(client, { targetBytes: sizeMb * MB });
  await client.query('VACUUM ANALYZE');
  await client.query('CREATE TABLE bench_marker (label text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  await client.end();
  const [size] = await query<{ mb: string }>(fbmsUrl, 'SELECT round(pg_database_size(current_database()) / 1048576.0) AS mb');
  log(`database fbms_bench: ${size!.mb} MB`);

  const ids = { user };
  const pgbrConf = join(root, 'pgbackrest.conf');
  writeFileSync(
    pgbrConf,
    [
      '[global]',
      `repo1-path=${owned(join(root, 'pgbr-repo'), ids)}`,
      'repo1-cipher-type=aes-256-cbc',
      `repo1-cipher-pass=${randomBytes(24).toString('base64')}`,
      'repo1-retention-full=99',
      `log-path=${owned(join(root, 'pgbr-log'), ids)}`,
      `lock-path=${owned(join(root, 'pgbr-lock'), ids)}`,
      `spool-path=${owned(join(root, 'pgbr-spool'), ids)}`,
      'log-level-console=warn',
      'log-level-file=off',
      'start-fast=y',
      'compress-type=zst',
      '',
      `[${STANZA}]`,
      `pg1-path=${dataDir}`,
      `pg1-port=${cluster.port}`,
      `pg1-socket-path=${socketDir}`,
      'pg1-user=bantay_test',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  if (user) chownSync(pgbrConf, user.uid, user.gid);
  await query(cluster.adminUrl, 'ALTER SYSTEM SET archive_command = $$' + `${pgbackrest} --config=${pgbrConf} --stanza=${STANZA} archive-push %p` + '$$');
  await query(cluster.adminUrl, 'SELECT pg_reload_conf()');
  const s0 = { user, pgbackrest, pgbrConf } as Setup;
  await run(pgbr(s0, 'stanza-create'), { PATH: process.env.PATH }, root, 'pgbackrest stanza-create');
  await run(pgbr(s0, 'check'), { PATH: process.env.PATH }, root, 'pgbackrest check');

  await query(cluster.adminUrl, "CREATE ROLE bantay_repl WITH REPLICATION LOGIN PASSWORD 'bench-repl-secret'");
  const replicationUrl = withDatabase(cluster.adminUrl, 'postgres').replace(/\/\/[^@]+@/, '//bantay_repl:bench-repl-secret@');
  const keyFile = join(root, 'bantay.key');
  writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  const bantayData = join(root, 'bantay-data');
  mkdirSync(bantayData, { recursive: true });
  // Bantay's state on the benchmark server: several Bantay processes run at once (the stream and a backup).
  const stateUrl = await cluster.createDatabase('bantay_state');
  const bantayEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    BANTAY_STORE: join(root, 'bantay-store'),
    BANTAY_DATA_DIR: bantayData,
    BANTAY_ENCRYPTION_KEY_FILE: keyFile,
    BANTAY_STATE_URL: stateUrl,
    DATABASE_URL: fbmsUrl,
    BANTAY_REPLICATION_URL: replicationUrl,
    BANTAY_WAL: 'stream',
    BANTAY_TZ: 'UTC',
    BANTAY_LOG_LEVEL: 'warn',
  };
  return { root, cluster, dataDir, socketDir, fbmsUrl, user, pgbackrest, pgbrConf, bantayEnv, streamStatusFile: join(bantayData, 'wal', 'stream-status.json') };
}

/** `bantay wal stream` in the background, as `serve` runs it; resolves its peak RSS when stopped. */
function startStream(s: Setup): { stop: () => Promise<number> } {
  const child = spawn(process.execPath, [CLI, 'wal', 'stream'], { env: s.bantayEnv, cwd: s.root, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr = (stderr + t).slice(-8000)));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    stop: async () => {
      // VmHWM is the high-water mark of the node process: read it before it exits.
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
      const peak = Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 'NaN') * 1024;
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
      children.delete(child);
      if (stderr.trim() !== '') log(`wal stream said: ${stderr.trim().slice(-500)}`);
      return peak;
    },
  };
}

async function streamStatus(s: Setup): Promise<{ lastArchived: string | null; lastArchivedAt: string | null } | undefined> {
  return readFile(s.streamStatusFile, 'utf8').then((t) => JSON.parse(t) as { lastArchived: string | null; lastArchivedAt: string | null }, () => undefined);
}

/** Switches to a new segment and waits until both archives hold the finished one. */
async function switchAndWaitBoth(s: Setup): Promise<void> {
  const [row] = await query<{ name: string }>(s.cluster.adminUrl, 'SELECT pg_walfile_name(pg_switch_wal()) AS name');
  const name = row!.name;
  const deadline = Date.now() + 300_000;
  let pgbrDone = false;
  let bantayDone = false;
  while (Date.now() < deadline && !(pgbrDone && bantayDone)) {
    const [a] = await query<{ last: string | null }>(s.cluster.adminUrl, 'SELECT last_archived_wal AS last FROM pg_stat_archiver');
    pgbrDone = a?.last != null && a.last >= name;
    const st = await streamStatus(s);
    bantayDone = st?.lastArchived != null && st.lastArchived.slice(0, 24) >= name && !st.lastArchived.endsWith('.partial');
    if (!(pgbrDone && bantayDone)) await sleep(250);
  }
  if (!(pgbrDone && bantayDone)) throw new Error(`${name} not archived by ${pgbrDone ? 'Bantay' : 'pgBackRest'} within 300 s`);
}

/** Starts a server on a restored directory until it accepts connections and is out of recovery. */
async function startRestored(s: Setup, dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const sock = owned(join(s.root, `sock-${port}`), s, 0o755);
  const opts = `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1 -c archive_mode=off -c fsync=off`;
  const ctl = (...a: string[]) => spawnSync(...asClusterUser(s, pgBinary('pg_ctl'), ['-D', dir, ...a]), { encoding: 'utf8', cwd: sock, timeout: 600_000 });
  const started = ctl('-l', join(sock, 'log'), '-w', '-t', '600', '-o', opts, 'start');
  if (started.status !== 0) throw new Error(`pg_ctl start failed: ${started.stdout}${started.stderr}${existsSync(join(sock, 'log')) ? readFileSync(join(sock, 'log'), 'utf8').slice(-3000) : ''}`);
  const u = new URL(s.cluster.adminUrl);
  u.port = String(port);
  u.pathname = '/fbms_bench';
  const url = u.toString();
  for (;;) {
    const [r] = await query<{ rec: boolean }>(url, 'SELECT pg_is_in_recovery() AS rec').catch(() => [{ rec: true }]);
    if (r && !r.rec) break;
    await sleep(50);
  }
  return { url, stop: async () => void ctl('-m', 'immediate', '-w', 'stop') };
}

async function markersIn(url: string): Promise<string[]> {
  return (await query<{ label: string }>(url, 'SELECT label FROM bench_marker ORDER BY label')).map((r) => r.label);
}

interface Row {
  phase: string;
  variant: string;
  seconds: number[];
  rssMb: number[];
}

/** Bantay as it ships: the built JavaScript (bin/bantay.js falls back to tsx when dist/ is stale, which would measure the compiler). */
function ensureBuilt(): void {
  if (chooseEntry(process.env).kind === 'dist') return;
  log('dist/ is stale: npm run build');
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.js')], { cwd: ROOT, stdio: 'inherit' });
  const entry = chooseEntry(process.env);
  if (r.status !== 0 || entry.kind !== 'dist') throw new Error(`the build did not give a fresh dist/ (${entry.kind === 'sources' ? entry.reason : 'build failed'})`);
}

/**
 * A copy of the built app (bin/, dist/, package.json; node_modules linked) without src/, which
 * bin/bantay.js runs as it is: editing the sources while the bench runs (minutes) must neither
 * switch later runs to tsx nor mix two versions.
 */
async function snapshotApp(into: string): Promise<string> {
  await mkdir(into, { recursive: true });
  for (const name of ['bin', 'dist']) await cp(join(ROOT, name), join(into, name), { recursive: true });
  await copyFile(join(ROOT, 'package.json'), join(into, 'package.json'));
  await symlink(join(ROOT, 'node_modules'), join(into, 'node_modules'));
  return join(into, 'bin', 'bantay.js');
}

async function main(): Promise<void> {
  ensureBuilt();
  const app = await mkdtemp(join(tmpdir(), 'bantay-bench-app-'));
  cleanups.push(() => rm(app, { recursive: true, force: true }));
  CLI = await snapshotApp(app);
  chmodSync(app, 0o755);
  log(`bench:pitr: ${sizeMb} MB, ${rounds} rounds, ${loadSeconds} s of load, ${cpus().length} CPUs, RSS via ${(await hasGnuTime()) ? 'GNU time' : '/proc polling'}`);
  const s = await setUp();
  const pgbrEnv = { PATH: process.env.PATH };
  const stream = startStream(s);
  let streamPeak = Number.NaN;
  const rows: Row[] = [];
  const add = (phase: string, variant: string, seconds: number, rss: number | undefined) => {
    let r = rows.find((x) => x.phase === phase && x.variant === variant);
    if (!r) rows.push((r = { phase, variant, seconds: [], rssMb: [] }));
    r.seconds.push(seconds);
    r.rssMb.push((rss ?? Number.NaN) / MB);
    log(`  ${phase} ${variant}: ${seconds.toFixed(2)} s, RSS ${((rss ?? Number.NaN) / MB).toFixed(1)} MB`);
  };
  try {
    // Wait until the stream runs (slot created, first upload).
    for (let i = 0; i < 600 && (await streamStatus(s))?.lastArchivedAt == null; i += 1) {
      if (i % 20 === 0) await query(s.cluster.adminUrl, 'SELECT pg_switch_wal()');
      await sleep(500);
    }
    if ((await streamStatus(s))?.lastArchivedAt == null) throw new Error('bantay wal stream uploaded nothing within 5 min');

    log('base backups, interleaved');
    const base = async (who: 'bantay' | 'pgbackrest') => {
      const m = who === 'bantay'
        ? await run([process.execPath, [CLI, 'backup', 'base', '--json']], s.bantayEnv, s.root, 'bantay backup base')
        : await run(pgbr(s, 'backup', '--type=full', '--compress-type=zst', '--process-max=2'), pgbrEnv, s.root, 'pgbackrest backup');
      add('base backup', who === 'bantay' ? 'bantay backup base' : 'pgbackrest backup --type=full', m.seconds, m.peakRssBytes);
    };
    for (let round = 1; round <= rounds; round += 1) {
      for (const who of round % 2 === 1 ? (['bantay', 'pgbackrest'] as const) : (['pgbackrest', 'bantay'] as const)) await base(who);
    }

    // The target: committed 'before', then T, then 'after'; both archives hold all of it.
    await query(s.fbmsUrl, "INSERT INTO bench_marker (label) VALUES ('before')");
    await sleep(1500);
    const target = new Date();
    await sleep(1500);
    await query(s.fbmsUrl, "INSERT INTO bench_marker (label) VALUES ('after')");
    await query(s.fbmsUrl, "UPDATE sales SET total = total * 2 WHERE id IN (SELECT id FROM sales ORDER BY id LIMIT 1000)").catch(() => undefined);
    await switchAndWaitBoth(s);
    const time = target.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '+00:00');
    log(`restores to ${time}, interleaved`);
    // Restored directories stay until the end (under the bench's root); only the restore into
    // the running server deletes (its scratch directory, then the database the bench drops), and
    // the next restore waits a minute after it (support/quiet-inodes.ts).
    const inodes = quietInodes(log);
    const restore = async (who: 'bantay dir' | 'bantay db' | 'pgbackrest') => {
      await inodes.wait();
      const dir = join(s.root, `restored-${randomBytes(3).toString('hex')}`);
      // Each starts with nothing of the previous one still to be written back: the restore into
      // the running server leaves about a gigabyte dirty, which slowed whichever came next by a
      // second or more (the disk is shared), so the order decided part of the ratio.
      spawnSync('sync');
      if (who === 'bantay db') {
        const name = `fbms_at_${randomBytes(3).toString('hex')}`;
        const m = await run([process.execPath, [CLI, 'restore', '--time', time, '--target-db', name, '--json']], s.bantayEnv, s.root, 'bantay restore --target-db');
        log(`  bantay --target-db phases: ${describePhases(m.stdout)}`);
        const got = await markersIn(withDatabase(s.fbmsUrl, name));
        if (got.join() !== 'before') throw new Error(`bantay --target-db recovered markers ${got.join()}, expected before`);
        add('restore to T', 'bantay restore --time --target-db (into the running server)', m.seconds, m.peakRssBytes);
        await s.cluster.dropDatabase(name);
        inodes.deleted();
        return;
      }
      owned(dir, s);
      const t0 = process.hrtime.bigint();
      const m = who === 'pgbackrest'
        ? await run(pgbr(s, `--pg1-path=${dir}`, 'restore', '--type=time', `--target=${time}`, '--target-action=promote'), pgbrEnv, s.root, 'pgbackrest restore')
        : await run([process.execPath, [CLI, 'restore', '--time', time, '--to-dir', dir, '--json']], s.bantayEnv, s.root, 'bantay restore --to-dir');
      const started = process.hrtime.bigint();
      const server = await startRestored(s, dir);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (who === 'bantay dir') log(`  bantay --to-dir phases: ${describePhases(m.stdout)}, start ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(2)} s`);
      const got = await markersIn(server.url);
      await server.stop();
      if (got.join() !== 'before') throw new Error(`${who} recovered markers ${got.join()}, expected before`);
      add('restore to T', who === 'pgbackrest' ? 'pgbackrest restore --type=time + start' : 'bantay restore --time --to-dir + start', seconds, m.peakRssBytes);
    };
    const order = ['bantay dir', 'pgbackrest', 'bantay db'] as const;
    for (let round = 1; round <= rounds; round += 1) {
      const shift = round % order.length;
      for (const who of [...order.slice(shift), ...order.slice(0, shift)]) await restore(who);
    }

    log(`pgbench at full rate for ${loadSeconds} s, sampling both recovery points every second`);
    const loadUrl = await s.cluster.createDatabase('bench_load');
    const u = new URL(loadUrl);
    const pgEnv = { PATH: process.env.PATH, PGHOST: u.hostname, PGPORT: u.port, PGUSER: decodeURIComponent(u.username), PGPASSWORD: decodeURIComponent(u.password), PGDATABASE: 'bench_load' };
    const init = spawnSync('/usr/bin/pgbench', ['-i', '-q', '-s', '10'], { env: pgEnv, encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    const startLsn = (await query<{ lsn: string }>(s.cluster.adminUrl, 'SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn;
    const bench = spawn('/usr/bin/pgbench', ['-c', '4', '-j', '2', '-T', String(loadSeconds), '-N'], { env: pgEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(bench);
    let benchOut = '';
    bench.stdout.setEncoding('utf8').on('data', (t: string) => (benchOut += t));
    const benchDone = new Promise<void>((r) => bench.on('exit', () => r()));
    const rpo = { bantay: [] as number[], pgbackrest: [] as number[] };
    let loading = true;
    void benchDone.then(() => (loading = false));
    await sleep(3000);
    while (loading) {
      const now = Date.now();
      const st = await streamStatus(s);
      if (st?.lastArchivedAt) rpo.bantay.push(Math.max(0, (now - new Date(st.lastArchivedAt).getTime()) / 1000));
      const [a] = await query<{ at: Date | null }>(s.cluster.adminUrl, 'SELECT last_archived_time AS at FROM pg_stat_archiver');
      if (a?.at) rpo.pgbackrest.push(Math.max(0, (now - a.at.getTime()) / 1000));
      await sleep(1000);
    }
    children.delete(bench);
    const endLsn = (await query<{ lsn: string }>(s.cluster.adminUrl, 'SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn;
    const [walMb] = await query<{ mb: string }>(s.cluster.adminUrl, 'SELECT round(pg_wal_lsn_diff($2::pg_lsn, $1::pg_lsn) / 1048576.0) AS mb', [startLsn, endLsn]);
    const tps = /tps = ([\d.]+)/.exec(benchOut)?.[1] ?? '?';
    log(`load: ${tps} tps, ${walMb!.mb} MB of WAL in ${loadSeconds} s`);
    streamPeak = await stream.stop();
    printReport(rows, rpo, streamPeak, { tps, walMb: Number(walMb!.mb) });
  } finally {
    if (Number.isNaN(streamPeak)) await stream.stop().catch(() => undefined);
  }
}

/** The restore's own account of where its time went (PitrResult.phases), for the profile. */
function describePhases(stdout: string): string {
  try {
    const result = JSON.parse(stdout) as { phases?: Record<string, number>; walFilesFetched?: number; walFilesPrefetched?: number };
    return `${Object.entries(result.phases ?? {}).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')} (${result.walFilesFetched ?? '?'} WAL files, ${result.walFilesPrefetched ?? '?'} fetched ahead)`;
  } catch {
    return 'not reported';
  }
}

function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function printReport(rows: Row[], rpo: { bantay: number[]; pgbackrest: number[] }, streamPeakBytes: number, load: { tps: string; walMb: number }): void {
  const fmt = (n: number, d = 2) => (Number.isNaN(n) ? '-' : n.toFixed(d));
  const med = (r: Row | undefined) => (r ? median(r.seconds) : Number.NaN);
  const find = (variant: string) => rows.find((r) => r.variant === variant);
  const basePgbr = med(find('pgbackrest backup --type=full'));
  const restorePgbr = med(find('pgbackrest restore --type=time + start'));
  console.log('');
  const header = ['phase', 'variant', 'median s', 'ratio', 'peak RSS MB'];
  const table = rows.map((r) => [r.phase, r.variant, fmt(median(r.seconds)), fmt(median(r.seconds) / (r.phase === 'base backup' ? basePgbr : restorePgbr), 3), fmt(Math.max(...r.rssMb), 1)]);
  const all = [header, ...table];
  const widths = header.map((_, i) => Math.max(...all.map((t) => t[i]!.length)));
  for (const line of all) console.log(line.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  console.log(`\n  ratio: median / pgBackRest's median in the same phase; restores end with a running cluster out of recovery (pgBackRest, --to-dir) or the verified new database (--target-db)`);
  console.log(`  recovery point under load (${load.tps} tps, ${load.walMb} MB of WAL): bantay p50 ${fmt(percentile(rpo.bantay, 50), 1)} s, p99 ${fmt(percentile(rpo.bantay, 99), 1)} s, max ${fmt(Math.max(...rpo.bantay), 1)} s; pgBackRest p50 ${fmt(percentile(rpo.pgbackrest, 50), 1)} s, p99 ${fmt(percentile(rpo.pgbackrest, 99), 1)} s`);
  console.log(`  bantay wal stream peak RSS: ${fmt(streamPeakBytes / MB, 1)} MB\n`);
  const checks: Array<[string, boolean, string]> = [];
  const baseRatio = med(find('bantay backup base')) / basePgbr;
  checks.push([`base backup <= ${TARGET_BASE_RATIO}x pgBackRest`, baseRatio <= TARGET_BASE_RATIO, fmt(baseRatio, 3)]);
  const dirRatio = med(find('bantay restore --time --to-dir + start')) / restorePgbr;
  checks.push([`restore to a running cluster (--to-dir) <= ${TARGET_RESTORE_RATIO}x pgBackRest`, dirRatio <= TARGET_RESTORE_RATIO, fmt(dirRatio, 3)]);
  const dbRatio = med(find('bantay restore --time --target-db (into the running server)')) / restorePgbr;
  checks.push([`restore into the running server (--target-db) <= ${TARGET_RESTORE_RATIO}x pgBackRest`, dbRatio <= TARGET_RESTORE_RATIO, fmt(dbRatio, 3)]);
  const p99 = percentile(rpo.bantay, 99);
  checks.push([`recovery point p99 <= ${TARGET_RPO_P99_S} s under load`, p99 <= TARGET_RPO_P99_S, `${fmt(p99, 1)} s`]);
  for (const r of rows.filter((x) => x.variant.startsWith('bantay'))) {
    const peak = Math.max(...r.rssMb);
    checks.push([`peak RSS <= ${TARGET_RSS_MB} MB: ${r.variant}`, peak <= TARGET_RSS_MB, `${fmt(peak, 1)} MB`]);
  }
  checks.push([`peak RSS <= ${TARGET_RSS_MB} MB: bantay wal stream`, streamPeakBytes / MB <= TARGET_RSS_MB, `${fmt(streamPeakBytes / MB, 1)} MB`]);
  for (const [what, ok, value] of checks) console.log(`${ok ? 'PASS' : 'FAIL'}  ${what}: ${value}`);
  const summary = rows.map((r) => ({ phase: r.phase, variant: r.variant, medianSeconds: median(r.seconds), runs: r.seconds, peakRssMb: Math.max(...r.rssMb) }));
  console.log(`BENCH_JSON ${JSON.stringify({ bench: 'pitr', date: new Date().toISOString(), sizeMb, rounds, loadSeconds, rows: summary, rpo: { bantayP50: percentile(rpo.bantay, 50), bantayP99: p99, pgbackrestP50: percentile(rpo.pgbackrest, 50), pgbackrestP99: percentile(rpo.pgbackrest, 99) }, load, streamPeakRssMb: streamPeakBytes / MB, pass: checks.every(([, ok]) => ok) })}`);
}

let code = 0;
const onSignal = () => {
  for (const c of children) c.kill('SIGKILL');
};
process.once('SIGINT', onSignal);
try {
  await main();
} catch (err) {
  console.error(`bench:pitr failed: ${(err as Error).stack ?? String(err)}`);
  code = 1;
} finally {
  for (const c of children) c.kill('SIGKILL');
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
}
process.exit(code);
