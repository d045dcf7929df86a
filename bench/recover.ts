/**
 * Recovery tool benchmark: `npm run bench:recover [-- --size-mb 256 --rounds 3]`.
 *
 * On one encrypted artifact in a local store (random bytes: incompressible, like a compressed
 * dump), times the standalone bantay-recover.mjs (`decrypt ID --out FILE`) against Bantay's own
 * read path (openArtifact into a file, run through tsx as the CLI is), both as child processes,
 * in interleaved rounds. Prints medians, the ratio and peak RSS: the tool must keep memory flat
 * and not be slower than Bantay. The last line is `BENCH_JSON {...}`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { newBackupId } from '../src/catalog/backup-id.ts';
import { writeManifest } from '../src/catalog/catalog.ts';
import { createEncryptStream } from '../src/crypto/encrypt-stream.ts';
import { KeyRing, parseKey } from '../src/crypto/keys.ts';
import { ENCRYPTION_ALGORITHM } from '../src/jobs/backup-database.ts';
import { createLocalStore } from '../src/storage/local-store.ts';
import { measure, median, type Measurement } from './support/measure.ts';

const { values } = parseArgs({ options: { 'size-mb': { type: 'string', default: process.env.BENCH_SIZE_MB ?? '256' }, rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '3' } } });
const sizeMb = Number(values['size-mb']);
const rounds = Number(values.rounds);
const root = fileURLToPath(new URL('..', import.meta.url));
const work = await mkdtemp(join(tmpdir(), 'bantay-bench-recover-'));

try {
  const keyText = randomBytes(32).toString('base64');
  const key = parseKey(keyText);
  const storeDir = join(work, 'store');
  const store = createLocalStore(storeDir);
  const id = newBackupId('database');
  const artifactKey = `backups/${id}/database.dump.enc`;
  const plain = createHash('sha256');
  const stored = createHash('sha256');
  let storedBytes = 0;
  const block = randomBytes(1024 * 1024);
  const source = Readable.from((function* () {
    for (let i = 0; i < sizeMb; i++) {
      plain.update(block);
      yield block;
    }
  })());
  const meter = new Transform({ transform(chunk: Buffer, _e, cb) { stored.update(chunk); storedBytes += chunk.length; cb(null, chunk); } });
  await store.put(artifactKey, source.pipe(createEncryptStream(key, artifactKey)).pipe(meter));
  const now = new Date().toISOString();
  await writeManifest(store, {
    formatVersion: 1, id, kind: 'database', createdAt: now, completedAt: now, durationSeconds: 0,
    trigger: { by: 'bench', via: 'cli' }, source: { host: 'bench' }, tools: {},
    artifact: { key: artifactKey, format: 'pg_dump-custom', sizeBytes: storedBytes, sha256: stored.digest('hex'), plainSizeBytes: sizeMb * 1024 * 1024, plainSha256: plain.digest('hex'), encryption: { algorithm: ENCRYPTION_ALGORITHM, keyId: key.id } },
  }, { keyRing: new KeyRing(key, []) });
  const env = { PATH: process.env.PATH, HOME: work, BANTAY_STORE: storeDir, BANTAY_ENCRYPTION_KEY: keyText };
  const results: Record<'tool' | 'bantay', Measurement[]> = { tool: [], bantay: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const which of round % 2 ? (['tool', 'bantay'] as const) : (['bantay', 'tool'] as const)) {
      const out = join(work, `out-${which}-${round}`);
      const args = which === 'tool'
        ? [join(root, 'recovery/bantay-recover.mjs'), 'decrypt', id, '--out', out]
        : ['--import', 'tsx', join(root, 'bench/support/bantay-decrypt.ts'), storeDir, id, out];
      const m = await measure(process.execPath, args, { env, cwd: which === 'tool' ? work : root, scratchDir: work });
      if (m.code !== 0) throw new Error(`${which} failed: ${m.stderr}`);
      results[which].push(m);
      await rm(out, { force: true });
      console.log(`round ${round} ${which.padEnd(6)} ${m.seconds.toFixed(2)} s, peak RSS ${((m.peakRssBytes ?? 0) / 2 ** 20).toFixed(0)} MiB`);
    }
  }
  const summary = Object.fromEntries((['tool', 'bantay'] as const).map((w) => [w, { medianSeconds: median(results[w].map((m) => m.seconds)), peakRssMiB: Math.max(...results[w].map((m) => (m.peakRssBytes ?? 0) / 2 ** 20)) }]));
  const ratio = summary.tool!.medianSeconds / summary.bantay!.medianSeconds;
  console.log(`${sizeMb} MiB: tool ${summary.tool!.medianSeconds.toFixed(2)} s, Bantay ${summary.bantay!.medianSeconds.toFixed(2)} s, ratio tool/Bantay ${ratio.toFixed(2)}; peak RSS tool ${summary.tool!.peakRssMiB.toFixed(0)} MiB, Bantay ${summary.bantay!.peakRssMiB.toFixed(0)} MiB`);
  console.log(`BENCH_JSON ${JSON.stringify({ sizeMb, rounds, ...summary, ratio })}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
