import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { EncryptionKey, KeyRing } from '../crypto/keys.ts';
import { canonicalJson } from './jcs.ts';

/**
 * Authenticated catalog records (docs/catalog-authentication.md §2): a top-level `auth` member
 * holding HMAC-SHA256, under a catalog key derived from the master key with its own HKDF label
 * (never the data key), over "bantay record v1" 0x00 objectKey 0x00 JCS(record without auth).
 * The object key is in the MAC input, so a valid record moved to another place fails.
 */
const CATALOG_INFO = Buffer.from('bantay catalog v1 hmac-sha256', 'latin1');
const RECORD_DOMAIN = Buffer.from('bantay record v1\x00', 'latin1');

export const authSchema = z.object({
  v: z.literal(1),
  alg: z.literal('HMAC-SHA256'),
  keyId: z.string().regex(/^k1:[0-9a-f]{16}$/),
  tag: z.string().regex(/^[0-9a-f]{64}$/),
});
export type RecordAuth = z.infer<typeof authSchema>;

/** Derived once per master key: HMAC keys are cheap to use, HKDF is not free per record. */
const catalogKeys = new WeakMap<Buffer, Buffer>();

export function catalogKey(master: Buffer): Buffer {
  let derived = catalogKeys.get(master);
  if (derived === undefined) {
    derived = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), CATALOG_INFO, 32));
    catalogKeys.set(master, derived);
  }
  return derived;
}

/** The canonical bytes the tag covers: the record minus `auth`, as JCS. */
export function canonicalBody(record: Record<string, unknown>): string {
  const { auth: _auth, ...body } = record;
  return canonicalJson(body);
}

export function recordTag(master: Buffer, objectKey: string, record: Record<string, unknown>): string {
  return createHmac('sha256', catalogKey(master))
    .update(RECORD_DOMAIN)
    .update(Buffer.from(objectKey, 'utf8'))
    .update(Buffer.from([0]))
    .update(Buffer.from(canonicalBody(record), 'utf8'))
    .digest('hex');
}

/** `record` with its `auth` member, made under `key` for the record's object key. */
export function signRecord(key: EncryptionKey, objectKey: string, record: Record<string, unknown>): Record<string, unknown> {
  const { auth: _old, ...body } = record;
  const auth: RecordAuth = { v: 1, alg: 'HMAC-SHA256', keyId: key.id, tag: recordTag(key.key, objectKey, body) };
  return { ...body, auth };
}

export type TagCheck = { ok: true; keyId: string } | { ok: false; reason: string };

/** Checks the `auth` member of a parsed record read from `objectKey`, in constant time. */
export function checkTag(ring: KeyRing, objectKey: string, record: Record<string, unknown>): TagCheck {
  if (!('auth' in record)) return { ok: false, reason: 'it carries no authentication tag' };
  const parsed = authSchema.safeParse(record.auth);
  if (!parsed.success) return { ok: false, reason: 'its authentication tag is malformed' };
  const key = ring.find(parsed.data.keyId);
  if (key === undefined) return { ok: false, reason: `its authentication tag was made with key ${parsed.data.keyId}, which is not configured` };
  const expected = Buffer.from(recordTag(key.key, objectKey, record), 'hex');
  const actual = Buffer.from(parsed.data.tag, 'hex');
  if (!timingSafeEqual(expected, actual)) {
    return { ok: false, reason: 'its authentication tag does not verify: it was modified, forged, or moved from another place' };
  }
  return { ok: true, keyId: key.id };
}
