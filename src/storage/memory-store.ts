import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BantayError, ErrorCode, isAbortError, wrapError } from '../errors.ts';
import { assertValidKey, assertValidPrefix } from './keys.ts';
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';

interface StoredObject {
  body: Buffer;
  modifiedAt: Date;
}

/**
 * An ObjectStore held in a Map, for unit tests. It follows the same contract as the real stores
 * (test/storage/contract.ts runs against it): `put` only stores once the whole body was read, so
 * an erroring body or an aborted signal leaves nothing behind. Objects are held whole in memory.
 */
export function createMemoryStore(): ObjectStore {
  const objects = new Map<string, StoredObject>();

  return {
    description: 'memory',

    async put(key: string, body: Readable, options: PutOptions = {}): Promise<{ size: number }> {
      assertValidKey(key);
      const chunks: Buffer[] = [];
      try {
        // pipeline destroys `body` when the signal aborts or collecting fails.
        await pipeline(
          body,
          async (source: AsyncIterable<Buffer | string>) => {
            for await (const chunk of source) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
          },
          options.signal ? { signal: options.signal } : {},
        );
      } catch (err) {
        throw putError(key, err, options.signal);
      }
      const stored = Buffer.concat(chunks);
      objects.set(key, { body: stored, modifiedAt: new Date() });
      return { size: stored.length };
    },

    async get(key: string, options: GetOptions = {}): Promise<Readable> {
      assertValidKey(key);
      if (options.signal?.aborted) throw new BantayError(ErrorCode.Aborted, `get ${key}: aborted`);
      const object = objects.get(key);
      if (!object) throw new BantayError(ErrorCode.NotFound, `Object ${key} not found in memory store`);
      // Copy so a consumer mutating chunks cannot change the stored object.
      return Readable.from([Buffer.from(object.body)], { objectMode: false });
    },

    async stat(key: string): Promise<ObjectInfo | undefined> {
      assertValidKey(key);
      const object = objects.get(key);
      return object ? { key, size: object.body.length, modifiedAt: object.modifiedAt } : undefined;
    },

    async *list(prefix: string): AsyncIterable<ObjectInfo> {
      assertValidPrefix(prefix);
      // Plain string comparison: keys are ASCII, so this is the byte order S3 uses.
      const keys = [...objects.keys()].filter((key) => key.startsWith(prefix)).sort(compareKeys);
      for (const key of keys) {
        const object = objects.get(key);
        if (object) yield { key, size: object.body.length, modifiedAt: object.modifiedAt };
      }
    },

    async delete(key: string): Promise<void> {
      assertValidKey(key);
      objects.delete(key);
    },
  };
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function putError(key: string, err: unknown, signal: AbortSignal | undefined): BantayError {
  if (signal?.aborted || isAbortError(err)) {
    return new BantayError(ErrorCode.Aborted, `put ${key}: aborted`, { cause: err });
  }
  return wrapError(ErrorCode.Storage, `put ${key}`, err);
}
