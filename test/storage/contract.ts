import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { collect, digestStream, expectBantayError, MIB, patternSha256, patternStream, readAll } from './test-data.ts';

export interface StoreFixture {
  store: ObjectStore;
  cleanup(): Promise<void>;
  /**
   * Things a failed put may have left behind that the store API cannot show: open multipart
   * uploads (S3), temp files (local). Must be 0 after every put settled.
   */
  leftovers?(): Promise<number>;
}

/** Part size the S3 store is configured with in tests; sizes around it are exercised everywhere. */
export const CONTRACT_PART_SIZE = 5 * MIB;
const P = CONTRACT_PART_SIZE;
const ROUND_TRIP_SIZES = [0, 1, MIB, P - 1, P, P + 1, 3 * P + 17];
/** Big enough that S3 needs a multipart upload before the failure or abort hits. */
const MULTIPART_SIZE = 4 * P;
const INVALID_KEYS = ['../x', '/abs', 'a//b', 'a/./b', '', 'a/../b', 'a/', '.tmp-x', 'a\\b'];

/**
 * The ObjectStore contract (src/storage/object-store.ts), run against every implementation.
 * `makeStore` is called before each test and must return an empty store.
 */
export function runObjectStoreContract(name: string, makeStore: () => Promise<StoreFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: ObjectStore;
    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });
    const expectNoLeftovers = async (): Promise<void> => {
      expect(fixture.leftovers ? await fixture.leftovers() : 0).toBe(0);
    };
    const expectAbsent = async (key: string): Promise<void> => {
      expect(await store.stat(key)).toBeUndefined();
      await expectBantayError(store.get(key), ErrorCode.NotFound);
      expect((await collect(store.list(''))).map((o) => o.key)).not.toContain(key);
    };

    it('has a description', () => {
      expect(store.description.length).toBeGreaterThan(0);
    });

    it.each(ROUND_TRIP_SIZES)('round-trips %i bytes exactly', async (size) => {
      const key = `sizes/object-${size}.bin`;
      expect(await store.put(key, patternStream(size, size + 1))).toEqual({ size });
      const read = await digestStream(await store.get(key));
      expect(read).toEqual({ size, sha256: patternSha256(size, size + 1) });
      expect((await store.stat(key))?.size).toBe(size);
      await expectNoLeftovers();
    });

    it('accepts a content type and string chunks', async () => {
      await store.put('text/hello.txt', Readable.from(['hello ', 'world'], { objectMode: true }), { contentType: 'text/plain' });
      expect((await readAll(await store.get('text/hello.txt'))).toString('utf8')).toBe('hello world');
    });

    it('rejects get of a missing key with NOT_FOUND', async () => {
      await expectBantayError(store.get('missing/key.bin'), ErrorCode.NotFound);
      await store.put('present/a', patternStream(3, 1));
      await expectBantayError(store.get('present/a/b'), ErrorCode.NotFound);
      await expectBantayError(store.get('present'), ErrorCode.NotFound);
    });

    it('stats objects, and missing keys as undefined', async () => {
      const before = Date.now();
      await store.put('stat/one.bin', patternStream(1234, 7));
      const info = await store.stat('stat/one.bin');
      expect(info).toMatchObject({ key: 'stat/one.bin', size: 1234 });
      expect(info?.modifiedAt).toBeInstanceOf(Date);
      expect(Math.abs((info?.modifiedAt.getTime() ?? 0) - before)).toBeLessThan(10 * 60_000);
      expect(await store.stat('stat/missing.bin')).toBeUndefined();
      expect(await store.stat('stat')).toBeUndefined();
    });

    it('lists by prefix in ascending byte order', async () => {
      const keys = ['list/a-c', 'list/a.x', 'list/a/b', 'list/a=1', 'list/a_b', 'list/aB', 'list/ab', 'list/B', 'list/0'];
      const others = ['list/Z/z', 'listx/other', 'other/x'];
      for (const [i, key] of [...keys, ...others].entries()) await store.put(key, patternStream(i + 1, i));
      const listed = await collect(store.list('list/'));
      expect(listed.map((o) => o.key)).toEqual([...keys, 'list/Z/z'].sort());
      expect(listed.find((o) => o.key === 'list/a.x')?.size).toBe(2);
      expect(listed.every((o) => o.modifiedAt instanceof Date)).toBe(true);
      expect((await collect(store.list('list'))).map((o) => o.key)).toEqual([...keys, 'list/Z/z', 'listx/other'].sort());
      expect((await collect(store.list('list/a'))).map((o) => o.key)).toEqual(
        ['list/a-c', 'list/a.x', 'list/a/b', 'list/a=1', 'list/aB', 'list/a_b', 'list/ab'].sort(),
      );
      expect((await collect(store.list(''))).map((o) => o.key)).toEqual([...keys, ...others].sort());
      expect(await collect(store.list('nothing/'))).toEqual([]);
    });

    it('shows an object only once put has finished', async () => {
      let reachedHalf!: () => void;
      const halfway = new Promise<void>((resolve) => (reachedHalf = resolve));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const size = 2 * MIB;
      const body = patternStream(size, 3, {
        onProgress: async (produced) => {
          if (produced < size / 2 || produced >= size) return;
          reachedHalf();
          await gate;
        },
      });
      const putting = store.put('slow/object.bin', body);
      await halfway;
      expect(await store.stat('slow/object.bin')).toBeUndefined();
      expect(await collect(store.list(''))).toEqual([]);
      release();
      await putting;
      expect((await collect(store.list(''))).map((o) => o.key)).toEqual(['slow/object.bin']);
      expect((await digestStream(await store.get('slow/object.bin'))).sha256).toBe(patternSha256(size, 3));
    });

    it('deletes idempotently', async () => {
      await store.put('del/x', patternStream(10, 1));
      await store.delete('del/x');
      await expectAbsent('del/x');
      await store.delete('del/x');
      await store.delete('never/existed');
    });

    it('overwrites an existing object', async () => {
      await store.put('ow/obj', patternStream(MIB, 1));
      expect(await store.put('ow/obj', patternStream(10, 2))).toEqual({ size: 10 });
      expect(await digestStream(await store.get('ow/obj'))).toEqual({ size: 10, sha256: patternSha256(10, 2) });
      expect((await collect(store.list('ow/'))).map((o) => [o.key, o.size])).toEqual([['ow/obj', 10]]);
    });

    it('stores puts running in parallel independently', async () => {
      const sizes = [10, 100_000, 300_000, 0, 77];
      await Promise.all(sizes.map((size, i) => store.put(`par/${i}`, patternStream(size, i + 100))));
      for (const [i, size] of sizes.entries()) {
        expect((await digestStream(await store.get(`par/${i}`))).sha256).toBe(patternSha256(size, i + 100));
      }
    });

    registerFailureTests(() => ({ store, expectAbsent, expectNoLeftovers }));

    it.each(INVALID_KEYS)('rejects the invalid key %j', async (key) => {
      await expectBantayError(store.put(key, patternStream(1, 1)), ErrorCode.InvalidInput);
      await expectBantayError(store.get(key), ErrorCode.InvalidInput);
      await expectBantayError(store.stat(key), ErrorCode.InvalidInput);
      await expectBantayError(store.delete(key), ErrorCode.InvalidInput);
    });

    it.each(['../', '/abs', 'a//', '../x'])('rejects the invalid list prefix %j', async (prefix) => {
      await expectBantayError(collect(store.list(prefix)), ErrorCode.InvalidInput);
    });
  });
}

interface FailureContext {
  store: ObjectStore;
  expectAbsent(key: string): Promise<void>;
  expectNoLeftovers(): Promise<void>;
}

/** put must reject and leave nothing (or the previous object) when the body or signal fails. */
function registerFailureTests(context: () => FailureContext): void {
  it('leaves nothing when the body errors midway', async () => {
    const { store, expectAbsent, expectNoLeftovers } = context();
    const body = patternStream(MULTIPART_SIZE, 5, { failAfter: 2 * P + 100 });
    const err = await expectBantayError(store.put('fail/body.bin', body), ErrorCode.Storage);
    expect(err.message).toContain('fail/body.bin');
    expect(body.destroyed).toBe(true);
    await expectAbsent('fail/body.bin');
    await expectNoLeftovers();
  });

  it('leaves nothing when the signal aborts midway', async () => {
    const { store, expectAbsent, expectNoLeftovers } = context();
    const controller = new AbortController();
    const body = patternStream(MULTIPART_SIZE, 6, {
      onProgress: (produced) => {
        if (produced > 2 * P + 100) controller.abort();
      },
    });
    await expectBantayError(store.put('fail/abort.bin', body, { signal: controller.signal }), ErrorCode.Aborted);
    expect(body.destroyed).toBe(true);
    await expectAbsent('fail/abort.bin');
    await expectNoLeftovers();
  });

  it('rejects at once when the signal is already aborted', async () => {
    const { store, expectAbsent, expectNoLeftovers } = context();
    const body = patternStream(100, 1);
    await expectBantayError(store.put('fail/pre.bin', body, { signal: AbortSignal.abort() }), ErrorCode.Aborted);
    await expectBantayError(store.get('fail/pre.bin', { signal: AbortSignal.abort() }), ErrorCode.Aborted);
    await expectAbsent('fail/pre.bin');
    await expectNoLeftovers();
  });

  it('keeps the previous object when an overwrite fails', async () => {
    const { store, expectNoLeftovers } = context();
    await store.put('fail/keep.bin', patternStream(1000, 8));
    const body = patternStream(MULTIPART_SIZE, 9, { failAfter: P + 5 });
    await expectBantayError(store.put('fail/keep.bin', body), ErrorCode.Storage);
    expect(await digestStream(await store.get('fail/keep.bin'))).toEqual({ size: 1000, sha256: patternSha256(1000, 8) });
    await expectNoLeftovers();
  });
}
