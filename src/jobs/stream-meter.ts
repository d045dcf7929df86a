import { createHash } from 'node:crypto';
import { BantayError, ErrorCode } from '../errors.ts';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * A pass-through that hashes (SHA-256) and counts every byte it forwards. `digest()` is valid
 * once the stream has ended. `onBytes` receives the running total, for progress.
 */
export class StreamMeter extends Transform {
  #hash = createHash('sha256');
  #bytes = 0;
  #digest: string | undefined;
  readonly #onBytes: ((total: number) => void) | undefined;

  constructor(onBytes?: (total: number) => void) {
    super();
    this.#onBytes = onBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    this.#onBytes?.(this.#bytes);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#digest = this.#hash.digest('hex');
    callback();
  }

  get bytes(): number {
    return this.#bytes;
  }

  digest(): string {
    if (this.#digest === undefined) throw new Error('StreamMeter.digest() called before the stream ended');
    return this.#digest;
  }
}

/**
 * A pass-through that refuses to end until `gate` resolves, and fails the stream if it rejects.
 * Placed last before an upload, it stops a store from committing an object whose producer (a
 * child process) exited with an error after writing its last byte.
 */
export function createEndGate(gate: () => Promise<void>): Transform {
  return new Transform({
    transform(chunk, _enc, callback) {
      callback(null, chunk);
    },
    flush(callback) {
      gate().then(
        () => callback(),
        (err: Error) => callback(err),
      );
    },
  });
}

/**
 * Checks the bytes flowing through against an expected size and SHA-256, failing at the end
 * of the stream when they differ (before a consumer treats the data as complete).
 */
export function createDigestCheck(expected: { sha256: string; sizeBytes: number }, describe: string): Transform {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      const actual = hash.digest('hex');
      if (bytes !== expected.sizeBytes || actual !== expected.sha256) {
        callback(new DigestMismatchError(describe, expected, { sha256: actual, sizeBytes: bytes }));
      } else {
        callback();
      }
    },
  });
}

export class DigestMismatchError extends BantayError {
  constructor(describe: string, expected: { sha256: string; sizeBytes: number }, actual: { sha256: string; sizeBytes: number }) {
    super(
      ErrorCode.Integrity,
      `${describe} does not match its manifest: expected ${expected.sizeBytes} bytes with SHA-256 ${expected.sha256.slice(0, 12)}…, ` +
        `read ${actual.sizeBytes} bytes with SHA-256 ${actual.sha256.slice(0, 12)}…`,
    );
  }
}
