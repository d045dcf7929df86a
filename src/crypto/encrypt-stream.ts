/**
 * Client-side streaming encryption (format: docs/encryption-format.md). Memory is flat: at most
 * one chunk of plaintext is buffered, whatever the size of the writes. Full chunks are sealed as
 * soon as they are complete; the final chunk (0..chunkSize-1 bytes, possibly empty) is sealed
 * with the last flag when the input ends, so every stream, even an empty one, ends in one.
 * Streams are written in format version 2: the per-stream key binds `objectKey`, the key the
 * artifact is stored under (relative to the store's root or prefix, the same on every
 * location), so the artifact only decrypts when read back from that key.
 */
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { wrapError, ErrorCode } from '../errors.ts';
import { assertChunkSize, buildHeader, ChunkCipher, DEFAULT_CHUNK_SIZE, deriveStreamKey } from './format.ts';
import { assertKeyShape } from './keys.ts';
import type { EncryptionKey } from './keys.ts';

export interface EncryptOptions {
  /** Plaintext bytes per chunk; default 64 KiB. Recorded in the header. */
  chunkSize?: number;
}

/**
 * `objectKey` is required (not an option) on purpose: every caller must name where the bytes
 * go, so the compiler finds each new artifact writer.
 */
export function createEncryptStream(key: EncryptionKey, objectKey: string, options: EncryptOptions = {}): Transform {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  assertChunkSize(chunkSize);
  assertKeyShape(key);
  const header = buildHeader(chunkSize, key.id);
  const cipher = new ChunkCipher(deriveStreamKey(key.key, header.salt, header.version, objectKey), header);
  const pending = Buffer.allocUnsafe(chunkSize);
  let filled = 0;
  let headerSent = false;

  const sendHeader = (stream: Transform): void => {
    if (headerSent) return;
    headerSent = true;
    stream.push(header.bytes);
  };

  /** Seals whole chunks straight from `data` and copies only the remainder into `pending`. */
  const absorb = (stream: Transform, data: Buffer): void => {
    let offset = 0;
    if (filled > 0) {
      offset = data.copy(pending, filled, 0, Math.min(data.length, chunkSize - filled));
      filled += offset;
      if (filled < chunkSize) return;
      stream.push(cipher.seal(pending, false));
      filled = 0;
    }
    while (data.length - offset >= chunkSize) {
      stream.push(cipher.seal(data.subarray(offset, offset + chunkSize), false));
      offset += chunkSize;
    }
    filled = data.copy(pending, 0, offset);
  };

  return new Transform({
    transform(this: Transform, data: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        sendHeader(this);
        absorb(this, data);
        callback();
      } catch (err) {
        callback(wrapError(ErrorCode.Internal, 'encrypting stream', err));
      }
    },
    flush(this: Transform, callback: TransformCallback) {
      try {
        sendHeader(this);
        this.push(cipher.seal(pending.subarray(0, filled), true));
        filled = 0;
        callback();
      } catch (err) {
        callback(wrapError(ErrorCode.Internal, 'encrypting stream', err));
      }
    },
  });
}
