/**
 * The byte format shared by the encrypt and decrypt streams (docs/encryption-format.md is the
 * normative description; keep the two in sync). Versions 1 and 2 share one layout:
 *
 *   header (76 bytes, authenticated as AAD of every chunk):
 *     0  8  magic "BANTAY\0E"
 *     8  1  format version (2 is written; 1 is still read)
 *     9  4  plaintext bytes per chunk, uint32 big-endian
 *    13 16  key id: the 16 lowercase hex chars of keyId() after "k1:", ASCII
 *    29 32  random salt for the per-stream subkey
 *    61  7  random nonce prefix
 *    68  8  header check: first 8 bytes of SHA-256(bytes 0..67)
 *   chunks: AES-256-GCM ciphertext || 16-byte tag; every chunk but the last carries exactly
 *   `chunkSize` plaintext bytes, the last carries 0..chunkSize-1 bytes and the last flag.
 * Version 2 differs only in the HKDF info of the per-stream key, which also binds the object key
 * the artifact is stored under (docs/catalog-authentication.md §1), so an artifact copied or
 * renamed to another key fails authentication at chunk 0.
 */
import { createCipheriv, createDecipheriv, createHash, createSecretKey, hkdfSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { BantayError, ErrorCode } from '../errors.ts';

export const MAGIC = Buffer.from('BANTAY\x00E', 'latin1');
/** The version new streams are written with. */
export const FORMAT_VERSION = 2;
/** Versions this build reads: 1 (no binding, written by earlier Bantay) and 2. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];
export const TAG_LENGTH = 16;
export const SALT_LENGTH = 32;
export const NONCE_PREFIX_LENGTH = 7;
export const KEY_ID_LENGTH = 16;
export const HEADER_CHECK_LENGTH = 8;
export const HEADER_LENGTH = 76;
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** Bounds keep a hostile header from making the decryptor allocate gigabytes. */
export const MIN_CHUNK_SIZE = 16;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** The counter is 32 bits; chunk indexes run 0..MAX_CHUNK_INDEX. */
export const MAX_CHUNK_INDEX = 0xffff_ffff;

const KEY_ID_PREFIX = 'k1:';
const HKDF_INFO_V1 = Buffer.from('bantay stream v1 aes-256-gcm', 'latin1');
const HKDF_INFO_V2 = Buffer.from('bantay stream v2 aes-256-gcm\x00', 'latin1');
const OFFSET = { version: 8, chunkSize: 9, keyId: 13, salt: 29, noncePrefix: 61, check: 68 } as const;

export interface StreamHeader {
  /** Format version byte: 2 for new streams, 1 for streams of earlier Bantay versions. */
  version: number;
  chunkSize: number;
  /** Full key id as keyId() returns it ("k1:" + 16 hex chars). */
  keyId: string;
  salt: Buffer;
  noncePrefix: Buffer;
  /** The exact 76 header bytes, used as AAD. */
  bytes: Buffer;
}

export function integrityError(message: string): BantayError {
  return new BantayError(ErrorCode.Integrity, message);
}

/** True when `firstBytes` starts with the magic of a Bantay encrypted stream (needs 8 bytes). */
export function isEncryptedHeader(firstBytes: Buffer): boolean {
  return firstBytes.length >= MAGIC.length && firstBytes.subarray(0, MAGIC.length).equals(MAGIC);
}

export function assertChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new BantayError(
      ErrorCode.Internal,
      `encryption chunk size must be an integer between ${MIN_CHUNK_SIZE} and ${MAX_CHUNK_SIZE}, got ${chunkSize}`,
    );
  }
}

function headerCheck(firstBytes: Buffer): Buffer {
  return createHash('sha256').update(firstBytes).digest().subarray(0, HEADER_CHECK_LENGTH);
}

/** Builds a fresh header with random salt and nonce prefix. `keyId` must come from keyId(). */
export function buildHeader(chunkSize: number, keyId: string): StreamHeader {
  const hex = keyId.slice(KEY_ID_PREFIX.length);
  if (!keyId.startsWith(KEY_ID_PREFIX) || !/^[0-9a-f]{16}$/.test(hex)) {
    throw new BantayError(ErrorCode.Internal, 'encryption key id is not a k1 fingerprint');
  }
  const bytes = Buffer.alloc(HEADER_LENGTH);
  MAGIC.copy(bytes, 0);
  bytes[OFFSET.version] = FORMAT_VERSION;
  bytes.writeUInt32BE(chunkSize, OFFSET.chunkSize);
  bytes.write(hex, OFFSET.keyId, KEY_ID_LENGTH, 'latin1');
  const salt = randomBytes(SALT_LENGTH);
  const noncePrefix = randomBytes(NONCE_PREFIX_LENGTH);
  salt.copy(bytes, OFFSET.salt);
  noncePrefix.copy(bytes, OFFSET.noncePrefix);
  headerCheck(bytes.subarray(0, OFFSET.check)).copy(bytes, OFFSET.check);
  return { version: FORMAT_VERSION, chunkSize, keyId, salt, noncePrefix, bytes };
}

/**
 * Parses and validates exactly HEADER_LENGTH bytes. Any damage is an Integrity error; the header
 * check makes accidental corruption of the key id read as damage rather than as a missing key.
 */
export function parseHeader(bytes: Buffer): StreamHeader {
  if (!isEncryptedHeader(bytes)) throw integrityError('not a Bantay encrypted stream (bad magic)');
  const version = bytes[OFFSET.version];
  if (version === undefined || !READABLE_VERSIONS.includes(version)) {
    throw integrityError(`unsupported encryption format version ${version} (this build reads ${READABLE_VERSIONS.join(' and ')})`);
  }
  if (bytes.length !== HEADER_LENGTH) throw integrityError('truncated encryption header');
  if (!headerCheck(bytes.subarray(0, OFFSET.check)).equals(bytes.subarray(OFFSET.check))) {
    throw integrityError('encryption header is corrupted (header check mismatch)');
  }
  const chunkSize = bytes.readUInt32BE(OFFSET.chunkSize);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw integrityError(`encryption header has an invalid chunk size ${chunkSize}`);
  }
  const hex = bytes.toString('latin1', OFFSET.keyId, OFFSET.keyId + KEY_ID_LENGTH);
  if (!/^[0-9a-f]{16}$/.test(hex)) throw integrityError('encryption header has a malformed key id');
  return {
    version,
    chunkSize,
    keyId: KEY_ID_PREFIX + hex,
    salt: Buffer.from(bytes.subarray(OFFSET.salt, OFFSET.salt + SALT_LENGTH)),
    noncePrefix: Buffer.from(bytes.subarray(OFFSET.noncePrefix, OFFSET.noncePrefix + NONCE_PREFIX_LENGTH)),
    bytes: Buffer.from(bytes),
  };
}

/**
 * HKDF-SHA256(master, salt, info) → the per-stream AES-256 key. Version 2's info is
 * "bantay stream v2 aes-256-gcm" || 0x00 || UTF-8(objectKey); version 1's has no object key.
 */
export function deriveStreamKey(master: Buffer, salt: Buffer, version: number, objectKey: string): KeyObject {
  if (version === 1) return createSecretKey(Buffer.from(hkdfSync('sha256', master, salt, HKDF_INFO_V1, 32)));
  if (objectKey === '') throw new BantayError(ErrorCode.Internal, 'an encryption stream needs the object key it is stored under');
  const info = Buffer.concat([HKDF_INFO_V2, Buffer.from(objectKey, 'utf8')]);
  return createSecretKey(Buffer.from(hkdfSync('sha256', master, salt, info, 32)));
}

/**
 * Seals or opens the chunks of one stream in order. The nonce is prefix || uint32 BE index ||
 * last flag, so a chunk only authenticates at its own position and with its own last flag.
 */
export class ChunkCipher {
  private readonly nonce = Buffer.alloc(12);
  private index = 0;

  constructor(
    private readonly key: KeyObject,
    private readonly header: StreamHeader,
  ) {
    header.noncePrefix.copy(this.nonce, 0);
  }

  /** Index of the next chunk to seal or open. */
  get chunkIndex(): number {
    return this.index;
  }

  /** Returns ciphertext || tag for the next chunk. `plain` may be reused by the caller afterwards. */
  seal(plain: Buffer, last: boolean): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.key, this.nextNonce(last), { authTagLength: TAG_LENGTH });
    cipher.setAAD(this.header.bytes);
    const body = cipher.update(plain);
    cipher.final();
    return Buffer.concat([body, cipher.getAuthTag()], body.length + TAG_LENGTH);
  }

  /** Verifies and decrypts the next chunk; returns plaintext only after its tag verified. */
  open(frame: Buffer, last: boolean): Buffer {
    const at = this.index;
    if (frame.length < TAG_LENGTH) throw integrityError(`truncated: the stream ends inside chunk ${at}`);
    const bodyLength = frame.length - TAG_LENGTH;
    const decipher = createDecipheriv('aes-256-gcm', this.key, this.nextNonce(last), { authTagLength: TAG_LENGTH });
    decipher.setAAD(this.header.bytes);
    decipher.setAuthTag(frame.subarray(bodyLength));
    const plain = decipher.update(frame.subarray(0, bodyLength));
    try {
      decipher.final();
    } catch {
      throw integrityError(
        last
          ? `authentication failed at chunk ${at} (the final chunk): the artifact was modified or truncated, or the wrong key was used`
          : `authentication failed at chunk ${at}: the artifact was modified or the wrong key was used`,
      );
    }
    return plain;
  }

  private nextNonce(last: boolean): Buffer {
    if (this.index > MAX_CHUNK_INDEX) {
      throw integrityError(`stream exceeds the ${MAX_CHUNK_INDEX + 1}-chunk limit of the encryption format`);
    }
    this.nonce.writeUInt32BE(this.index, NONCE_PREFIX_LENGTH);
    this.nonce[NONCE_PREFIX_LENGTH + 4] = last ? 1 : 0;
    this.index += 1;
    return this.nonce;
  }
}
