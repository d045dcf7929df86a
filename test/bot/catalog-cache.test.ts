import { describe, expect, it } from 'vitest';
import { KeyRing } from '../../src/crypto/keys.ts';
import { CatalogCache } from '../../src/bot/catalog-cache.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { createMemoryStore } from '../../src/storage/memory-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { putFakeBackup } from '../support/fake-backups.ts';

/** A store whose listings are read at once but handed over only after `delayMs` (a big bucket). */
function slowListing(store: ObjectStore, delayMs: number): ObjectStore {
  return {
    get description() {
      return store.description;
    },
    put: (key, body, options) => store.put(key, body, options),
    get: (key, options) => store.get(key, options),
    stat: (key) => store.stat(key),
    delete: (key) => store.delete(key),
    async *list(prefix) {
      const all = [];
      for await (const info of store.list(prefix)) all.push(info);
      await new Promise((r) => setTimeout(r, delayMs));
      yield* all;
    },
  };
}

describe('CatalogCache', () => {
  it('after invalidate(), a listing that started before the change is not served as fresh', async () => {
    const store = createMemoryStore();
    const cache = new CatalogCache({ store: slowListing(store, 300), trust: { keyRing: new KeyRing(undefined, []) }, logger: silentLogger });
    const older = await putFakeBackup(store, { createdAt: new Date(Date.now() - 7_200_000) });
    const inFlight = cache.refresh();
    await new Promise((r) => setTimeout(r, 50)); // that load has listed the store already
    const newer = await putFakeBackup(store, { createdAt: new Date(Date.now() - 60_000) });
    cache.invalidate(); // a job just wrote `newer`
    await inFlight;
    const snapshot = await cache.get(5000);
    expect(snapshot?.entries.map((e) => e.manifest.id)).toEqual([newer.id, older.id]);
  });
});
