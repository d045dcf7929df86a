import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BantayError, type ErrorCode } from '../../src/errors.ts';

export const MIB = 1024 * 1024;

export interface PatternOptions {
  /** Destroy the stream with an error once this many bytes were produced. */
  failAfter?: number;
  /** Called with the running byte count after each chunk is handed to the consumer. */
  onProgress?: (bytesProduced: number) => void | Promise<void>;
}

/**
 * Deterministic pseudo-random bytes (xorshift32 from `seed`), produced lazily in chunks of
 * uneven sizes so chunk boundaries never line up with part sizes. Nothing big is held in memory.
 */
export function* patternChunks(size: number, seed: number): Generator<Buffer> {
  let state = seed >>> 0 || 0x9e3779b9;
  let produced = 0;
  for (let index = 0; produced < size; index++) {
    const length = Math.min(size - produced, 64 * 1024 + ((index * 7919) % 4099));
    const chunk = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      chunk[i] = state & 0xff;
    }
    produced += length;
    yield chunk;
  }
}

export function patternStream(size: number, seed: number, options: PatternOptions = {}): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    let produced = 0;
    for (const chunk of patternChunks(size, seed)) {
      if (options.failAfter !== undefined && produced + chunk.length > options.failAfter) {
        yield chunk.subarray(0, options.failAfter - produced);
        throw new Error('test source failed midway');
      }
      yield chunk;
      produced += chunk.length;
      await options.onProgress?.(produced);
    }
  }
  return Readable.from(generate(), { objectMode: false });
}

export function patternSha256(size: number, seed: number): string {
  const hash = createHash('sha256');
  for (const chunk of patternChunks(size, seed)) hash.update(chunk);
  return hash.digest('hex');
}

/** SHA-256 and length of everything `stream` yields, read chunk by chunk. */
export async function digestStream(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    hash.update(buffer);
    size += buffer.length;
  }
  return { sha256: hash.digest('hex'), size };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** Resolves with the BantayError `promise` rejects with, failing when it resolves or the code differs. */
export async function expectBantayError(promise: Promise<unknown>, code: ErrorCode): Promise<BantayError> {
  let result: unknown;
  try {
    result = await promise;
  } catch (err) {
    if (!(err instanceof BantayError)) throw new Error(`expected BantayError ${code}, got ${String(err)}`, { cause: err });
    if (err.code !== code) throw new Error(`expected BantayError ${code}, got ${err.code}: ${err.message}`, { cause: err });
    return err;
  }
  throw new Error(`expected BantayError ${code}, but it resolved with ${String(result)}`);
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
