import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalStore } from '../../src/storage/local-store.ts';
import { runObjectStoreContract } from './contract.ts';
import { collect, patternStream } from './test-data.ts';

/** Temp files left anywhere below `root` (put's `.tmp-*` names). */
async function countTempFiles(root: string): Promise<number> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.name.startsWith('.tmp-')).length;
}

runObjectStoreContract('local', async () => {
  const root = await mkdtemp(join(tmpdir(), 'bantay-local-store-'));
  return {
    store: createLocalStore(join(root, 'store')),
    cleanup: () => rm(root, { recursive: true, force: true }),
    leftovers: () => countTempFiles(root),
  };
});

describe('local store specifics', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'bantay-local-store-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stores key a/b/c as the file ROOT/a/b/c and creates parent directories', async () => {
    const store = createLocalStore(join(root, 'deep', 'store'));
    await store.put('a/b/c.bin', patternStream(5, 1));
    expect(await readdir(join(root, 'deep', 'store', 'a', 'b'))).toEqual(['c.bin']);
    expect(store.description).toBe(`local:${join(root, 'deep', 'store')}`);
  });

  it('never lists temp files or names that are not valid keys', async () => {
    const store = createLocalStore(root);
    await store.put('dir/real.bin', patternStream(5, 1));
    await writeFile(join(root, 'dir', '.tmp-0123abcd'), 'partial');
    await writeFile(join(root, 'dir', 'bad name'), 'x');
    await mkdir(join(root, '.tmp-dir'));
    await writeFile(join(root, '.tmp-dir', 'x'), 'x');
    expect((await collect(store.list(''))).map((o) => o.key)).toEqual(['dir/real.bin']);
  });

  it('lists nothing when the root does not exist yet', async () => {
    const store = createLocalStore(join(root, 'missing'));
    expect(await collect(store.list(''))).toEqual([]);
    expect(await store.stat('x')).toBeUndefined();
  });
});
