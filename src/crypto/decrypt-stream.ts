/**
 * Streaming decryption (format: docs/encryption-format.md). Plaintext of a chunk is pushed only
 * after that chunk's tag verified, so a consumer never sees unauthenticated bytes; on damage the
 * stream fails with BantayError(Integrity) after emitting at most the chunks verified before it
 * (KeyMissing when no key of the ring has the artifact's key id; Internal only for bugs).
 * Every full-size frame is a non-final chunk by construction; whatever remains when the input
 * ends must be the final chunk. Memory is flat: one frame is buffered at most.
 * Version-2 streams only authenticate under the object key they were written for
 * (`expectedObjectKey`); version-1 streams (earlier Bantay versions) carry no binding and are
 * reported through `onHeader` so callers can say "not bound to its backup".
 */
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { BantayError, ErrorCode, wrapError } from '../errors.ts';
import {
  ChunkCipher,
  deriveStreamKey,
  HEADER_LENGTH,
  integrityError,
  MAGIC,
  parseHeader,
  TAG_LENGTH,
} from './format.ts';
import type { KeyRing } from './keys.ts';

export { isEncryptedHeader } from './format.ts';

interface Opened {
  cipher: ChunkCipher;
  frame: Buffer;
}

function keyMissing(artifactKeyId: string, ring: KeyRing): BantayError {
  const configured = ring.ids();
  return new BantayError(
    ErrorCode.KeyMissing,
    `no configured encryption key can decrypt this artifact: it was encrypted with key ${artifactKeyId}, ` +
      `configured keys are ${configured.length === 0 ? '(none)' : configured.join(', ')}`,
  );
}

/** Fails fast on a stream that is not ours, without waiting for a whole header. */
function checkMagicPrefix(header: Buffer, filled: number): void {
  const n = Math.min(filled, MAGIC.length);
  if (!header.subarray(0, n).equals(MAGIC.subarray(0, n))) {
    throw integrityError('not a Bantay encrypted stream (bad magic)');
  }
}

export interface DecryptOptions {
  /** Called once the header verified, before any plaintext: the stream's format version. */
  onHeader?: (info: { version: number; keyId: string }) => void;
}

function openStream(headerBytes: Buffer, ring: KeyRing, objectKey: string, options: DecryptOptions): Opened {
  const header = parseHeader(headerBytes);
  const key = ring.find(header.keyId);
  if (key === undefined) throw keyMissing(header.keyId, ring);
  const cipher = new ChunkCipher(deriveStreamKey(key.key, header.salt, header.version, objectKey), header);
  options.onHeader?.({ version: header.version, keyId: header.keyId });
  return { cipher, frame: Buffer.allocUnsafe(header.chunkSize + TAG_LENGTH) };
}

/** `expectedObjectKey`: the key the artifact was read from (see createEncryptStream). */
export function createDecryptStream(ring: KeyRing, expectedObjectKey: string, options: DecryptOptions = {}): Transform {
  const header = Buffer.alloc(HEADER_LENGTH);
  let headerFilled = 0;
  let opened: Opened | undefined;
  let filled = 0;

  /** Consumes header bytes from `data`; returns the offset where chunk data starts. */
  const takeHeader = (data: Buffer): number => {
    const taken = data.copy(header, headerFilled, 0, Math.min(data.length, HEADER_LENGTH - headerFilled));
    headerFilled += taken;
    checkMagicPrefix(header, headerFilled);
    if (headerFilled === HEADER_LENGTH) opened = openStream(header, ring, expectedObjectKey, options);
    return taken;
  };

  /** Opens whole frames straight from `data`; copies only the remainder into the frame buffer. */
  const absorb = (stream: Transform, state: Opened, data: Buffer, start: number): void => {
    const size = state.frame.length;
    let offset = start;
    if (filled > 0) {
      offset += data.copy(state.frame, filled, offset, Math.min(data.length, offset + size - filled));
      filled += offset - start;
      if (filled < size) return;
      stream.push(state.cipher.open(state.frame, false));
      filled = 0;
    }
    while (data.length - offset >= size) {
      stream.push(state.cipher.open(data.subarray(offset, offset + size), false));
      offset += size;
    }
    filled = data.copy(state.frame, 0, offset);
  };

  const finish = (stream: Transform): void => {
    if (opened === undefined) {
      throw integrityError(headerFilled === 0 ? 'empty input: not a Bantay encrypted stream' : 'truncated: the stream ends inside the encryption header');
    }
    if (filled === 0) {
      throw integrityError(`truncated: the stream ends before its final chunk (chunk ${opened.cipher.chunkIndex})`);
    }
    // Fewer than TAG_LENGTH bytes: open() reports "truncated ... inside chunk N".
    stream.push(opened.cipher.open(opened.frame.subarray(0, filled), true));
  };

  return new Transform({
    transform(this: Transform, data: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        const start = opened === undefined ? takeHeader(data) : 0;
        if (opened !== undefined && start < data.length) absorb(this, opened, data, start);
        callback();
      } catch (err) {
        callback(wrapError(ErrorCode.Internal, 'decrypting stream', err));
      }
    },
    flush(this: Transform, callback: TransformCallback) {
      try {
        finish(this);
        callback();
      } catch (err) {
        callback(wrapError(ErrorCode.Internal, 'decrypting stream', err));
      }
    },
  });
}
