import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { KeyRing, parseKey, type EncryptionKey } from '../../src/crypto/keys.ts';
import type { JobDeps } from '../../src/jobs/job-context.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openStateDb } from '../../src/state/state-db.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';

export function newKey(): EncryptionKey {
  return parseKey(randomBytes(32).toString('base64'));
}

export function tempDir(prefix = 'bantay-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Real dependencies for a job under test: a local store in a temp dir (unless given), an
 * embedded state database, and a JSON logger whose lines are captured for assertions.
 */
export async function makeDeps(options: { store?: ObjectStore; key?: EncryptionKey | null; retired?: EncryptionKey[] } = {}) {
  const dir = tempDir();
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  const key = options.key === undefined ? newKey() : options.key;
  const deps: JobDeps = {
    store: options.store ?? createLocalStore(join(dir, 'store')),
    state: await openStateDb({ url: undefined, dataDir: join(dir, 'var') }),
    keyRing: new KeyRing(key ?? undefined, options.retired ?? []),
    logger: createLogger({ format: 'json', level: 'debug', destination: destination as unknown as NodeJS.WritableStream }),
    tempDir: join(dir, 'var', 'tmp', 'job'),
  };
  return { deps, dir, logLines, key, close: () => deps.state.close() };
}

export const cliTrigger = { by: 'cli:test', via: 'cli' as const };
