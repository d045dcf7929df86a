import { Transform, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream } from '../../crypto/decrypt-stream.ts';
import { createEncryptStream } from '../../crypto/encrypt-stream.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { FirstFailure } from '../../failure.ts';
import { chainStreams } from '../chain-streams.ts';
import { createCoalescer } from './coalesce.ts';
import { linkedAbort, type JobDeps } from '../job-context.ts';
import { createDigestCheck, StreamMeter } from '../stream-meter.ts';

/**
 * Objects written and read the way the database job handles its dump: plaintext metered
 * (SHA-256, size), encrypted with the primary key when one is configured, stored bytes metered
 * again, and on reading checked against both digests with every chunk authenticated. Used for
 * the files archive, the file index and user-data exports.
 */
export interface SealedObject {
  key: string;
  sizeBytes: number;
  sha256: string;
  plainSizeBytes: number;
  plainSha256: string;
}

const BATCH_BYTES = 1024 * 1024;

export interface PutSealedOptions {
  signal?: AbortSignal;
  /** Stored bytes so far, for progress. */
  onBytes?: (stored: number) => void;
  contentType?: string;
  /** The store's retries of this upload (see PutOptions.onRetry): progress shows them. */
  onRetry?: (message: string) => void;
}

/**
 * Streams `source` (piped through `stages`) into the store under `key`. Resolves once the store
 * committed every byte; on any failure nothing is left under the key and the first error wins.
 */
export async function putSealed(
  source: Readable,
  stages: Duplex[],
  key: string,
  deps: Pick<JobDeps, 'store' | 'keyRing'>,
  options: PutSealedOptions = {},
): Promise<SealedObject> {
  const plain = new StreamMeter();
  const stored = new StreamMeter(options.onBytes);
  // Batches of BATCH_BYTES into the meters, the cipher and the store (coalesce.ts).
  const all: Array<Readable | Duplex> = [source, ...stages, createCoalescer(BATCH_BYTES), plain];
  if (deps.keyRing.primary) all.push(createEncryptStream(deps.keyRing.primary, key), createCoalescer(BATCH_BYTES));
  all.push(stored);
  const abort = linkedAbort(options.signal);
  const body = stored as Transform;
  // The first real failure is the cause, whichever side reports it first: a full local store
  // destroys the body, so the pipeline's abort can arrive before the store's own ENOSPC (which
  // waits for its temp file's removal), and a "cancelled" backup must not hide a full store.
  const failure = new FirstFailure();
  let failed = false;
  const onFail = (err: unknown): never => {
    failure.note(err);
    failed = true;
    abort.abort();
    body.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  };
  const piping = pipeline(all, { signal: abort.signal }).catch(onFail);
  const putting = deps.store.put(key, body, { signal: abort.signal, contentType: options.contentType ?? 'application/octet-stream', onRetry: options.onRetry }).catch(onFail);
  await Promise.allSettled([piping, putting]);
  abort.release();
  if (failed) throw failure.get();
  return { key, sizeBytes: stored.bytes, sha256: stored.digest(), plainSizeBytes: plain.bytes, plainSha256: plain.digest() };
}

export interface SealedRef {
  key: string;
  sizeBytes: number;
  sha256: string;
  /** The plaintext recorded at writing: checked when stored in the clear and different from the stored bytes (an encrypted object is authenticated chunk by chunk instead; see openSealed). */
  plain?: { sizeBytes: number; sha256: string };
  /** Key id it was encrypted with, or null when stored in the clear. */
  keyId: string | null;
  /** How errors name it: "the archive of upl-…". */
  describe: string;
}

/**
 * The plaintext of a sealed object as a stream that errors (never ends cleanly) when the stored
 * bytes, the decryption or the plaintext digest do not match. Consumers must read to the end.
 */
export async function openSealed(
  ref: SealedRef,
  deps: Pick<JobDeps, 'store' | 'keyRing'>,
  options: {
    signal?: AbortSignal;
    onBytes?: (stored: number) => void;
    onRetry?: (message: string) => void;
    /** Sees the encryption header before any plaintext is released; throwing fails the stream. */
    onHeader?: (info: { version: number; keyId: string }) => void;
  } = {},
): Promise<Readable> {
  if (ref.keyId !== null && deps.keyRing.find(ref.keyId) === undefined) {
    const configured = deps.keyRing.ids();
    throw new BantayError(
      ErrorCode.KeyMissing,
      `${capitalize(ref.describe)} is encrypted with key ${ref.keyId}, which is not configured ` +
        `(configured: ${configured.length ? configured.join(', ') : 'none'}); add it to BANTAY_DECRYPTION_KEYS`,
    );
  }
  const raw = await deps.store.get(ref.key, { signal: options.signal, ...(options.onRetry ? { onRetry: options.onRetry } : {}) });
  // The digest check already hashes the stored bytes: progress only needs them counted.
  const stages: Duplex[] = [createDigestCheck(ref, capitalize(ref.describe))];
  if (options.onBytes) stages.unshift(byteCounter(options.onBytes));
  if (ref.keyId !== null) {
    // The stored bytes are checked against the record, and every chunk of them is authenticated
    // (bound to its position, the stream's end and this object's key; docs/encryption-format.md),
    // so the plaintext can only be the one that was written: hashing it again is a second pass
    // over the data that cannot find anything the two checks above did not.
    // Batched before decrypting: an S3 body arrives in pieces of 16-64 KiB, each straddling
    // 64 KiB frames that the decryption then copies together (a local store already reads 1 MiB,
    // which passes through as it is). Not before the digest check: a batch held back to the end
    // would reach the reader only with the mismatch, and verify could not name the damaged file.
    stages.push(createCoalescer(BATCH_BYTES), createDecryptStream(deps.keyRing, ref.key, options.onHeader ? { onHeader: options.onHeader } : {}));
    return chainStreams(raw, ...stages);
  }
  // Stored in the clear, the plaintext digest is the stored one: checking it again is a second pass for nothing.
  const sameAsStored = ref.plain !== undefined && ref.plain.sha256 === ref.sha256 && ref.plain.sizeBytes === ref.sizeBytes;
  if (ref.plain && !sameAsStored) stages.push(createDigestCheck(ref.plain, `The decrypted content of ${ref.describe}`));
  return chainStreams(raw, ...stages);
}

function byteCounter(onBytes: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes((total += chunk.length));
      callback(null, chunk);
    },
  });
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
