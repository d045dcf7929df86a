import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { z } from 'zod';
import type { KeyRing } from '../crypto/keys.ts';
import { BantayError, ErrorCode, isBantayError } from '../errors.ts';
import { firstAuthenticatedWrite, noteAuthenticatedWrite } from '../state/catalog-trust.ts';
import type { Queryable } from '../state/state-db.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { checkTag, signRecord } from './record-auth.ts';

/**
 * The small JSON records the catalog keeps in the store (manifests, set records, export
 * manifests, verification records, drill reports, and any later kind) are written and read
 * here, and only here, so every kind is authenticated the same way
 * (docs/catalog-authentication.md):
 *
 * - Writing: pretty JSON with a trailing newline; with an encryption key configured the record
 *   carries `auth`, an HMAC bound to its object key, and the state database notes when this
 *   installation first wrote one.
 * - Reading: a missing key is NOT_FOUND ("No <missing> in <store>"); invalid JSON or a schema
 *   mismatch is a RecordRefused "damaged"; with a key configured, a record breaking a rule of
 *   §3 is a RecordRefused "rejected". Both are INTEGRITY errors naming the reason.
 */

/** What reading and writing records needs; JobDeps has all of it. */
export interface RecordTrust {
  keyRing: KeyRing;
  /** The state database; without it the "first authenticated write" rule cannot be applied. */
  state?: Queryable;
  now?: () => Date;
}

/** How far a record's time may be ahead of the reader's clock (§3 rule 4). */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * How a record that was accepted stands: `authenticated` (its tag verified), `legacy`
 * (formatVersion 1, written before format 2: accepted with a warning), `unchecked` (no key is
 * configured, so nothing can be authenticated).
 */
export type Authenticity = { state: 'authenticated'; keyId: string } | { state: 'legacy' } | { state: 'unchecked' };

export const NO_KEY_NOTE = 'authenticity cannot be checked: no encryption key configured';
export const LEGACY_NOTE = 'not authenticated (written by an earlier Bantay version, before format 2)';

export interface RecordNames {
  /** e.g. "backup db-…": what is missing. */
  missing: string;
  /** e.g. "The manifest of db-…": the subject of an integrity error. */
  record: string;
}

export interface RecordRules {
  /**
   * Manifests: every `key` member anywhere in the record must start with this prefix
   * ("backups/<id>/"), and no `encryption` member may be null (§3 rules 2 and 3).
   */
  artifactPrefix?: string;
}

/** A record that is shown but never used: damaged (unreadable) or rejected (untrusted). */
export class RecordRefused extends BantayError {
  constructor(
    readonly verdict: 'damaged' | 'rejected',
    readonly reason: string,
    readonly subject: string,
    options: { cause?: unknown } = {},
  ) {
    super(ErrorCode.Integrity, `${subject} is ${verdict === 'damaged' ? 'DAMAGED' : 'REJECTED'}: ${reason}`, options);
    this.name = 'RecordRefused';
  }
}

export function isRecordRefused(err: unknown): err is RecordRefused {
  return err instanceof RecordRefused;
}

export async function writeJsonRecord(store: ObjectStore, key: string, value: object, trust: RecordTrust, signal?: AbortSignal): Promise<void> {
  // Through JSON first: what is signed is exactly what a reader will parse (undefined dropped).
  let record = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  const primary = trust.keyRing.primary;
  if (primary !== undefined) {
    record = signRecord(primary, key, record);
    if (trust.state) await noteAuthenticatedWrite(trust.state, trust.now?.() ?? new Date());
  }
  const body = Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
  await store.put(key, Readable.from([body]), { signal, contentType: 'application/json' });
}

export interface ReadRecord<T> {
  value: T;
  authenticity: Authenticity;
}

/** Reads, authenticates and parses one record; throws NOT_FOUND or RecordRefused. */
export async function readJsonRecord<T>(
  store: ObjectStore,
  key: string,
  schema: z.ZodType<T>,
  names: RecordNames,
  trust: RecordTrust,
  rules: RecordRules = {},
): Promise<ReadRecord<T>> {
  let raw: string;
  try {
    raw = await text(await store.get(key));
  } catch (err) {
    if (isBantayError(err) && err.code === ErrorCode.NotFound) {
      throw new BantayError(ErrorCode.NotFound, `No ${names.missing} in ${store.description}`, { cause: err });
    }
    throw err;
  }
  return parseJsonRecord(raw, key, schema, names, trust, rules);
}

/** readJsonRecord on text already fetched (listings that read the bytes themselves). */
export async function parseJsonRecord<T>(
  raw: string,
  key: string,
  schema: z.ZodType<T>,
  names: RecordNames,
  trust: RecordTrust,
  rules: RecordRules = {},
): Promise<ReadRecord<T>> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new RecordRefused('damaged', raw.trim() === '' ? 'it is empty' : 'it is not valid JSON (truncated or overwritten?)', names.record, { cause: err });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new RecordRefused('damaged', 'it is not a JSON object', names.record);
  const record = json as Record<string, unknown>;
  const authenticity = await judge(record, key, names, trust, rules);
  const { auth: _auth, ...body } = record;
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new RecordRefused('damaged', `it does not match the expected format (${firstIssue(parsed.error)})`, names.record);
  return { value: parsed.data, authenticity };
}

/** The §3 rules; resolves with how the record stands or throws RecordRefused('rejected'). */
async function judge(record: Record<string, unknown>, key: string, names: RecordNames, trust: RecordTrust, rules: RecordRules): Promise<Authenticity> {
  if (trust.keyRing.ids().length === 0) return { state: 'unchecked' };
  const reject = (reason: string): never => {
    throw new RecordRefused('rejected', reason, names.record);
  };
  let authenticity: Authenticity;
  if (!('auth' in record) && record.formatVersion === 1) {
    authenticity = { state: 'legacy' };
  } else {
    const tag = checkTag(trust.keyRing, key, record);
    if (!tag.ok) reject(tag.reason);
    authenticity = { state: 'authenticated', keyId: (tag as { keyId: string }).keyId };
  }
  if (rules.artifactPrefix !== undefined) {
    const problem = artifactProblem(record, rules.artifactPrefix);
    if (problem !== undefined) reject(problem);
  }
  const time = recordTime(record);
  const now = trust.now?.() ?? new Date();
  if (time !== undefined && time.getTime() > now.getTime() + CLOCK_SKEW_MS) {
    reject(`it is dated ${time.toISOString()}, in the future (the clock here says ${now.toISOString()})`);
  }
  if (authenticity.state === 'legacy' && trust.state) {
    const since = await firstAuthenticatedWrite(trust.state);
    if (since !== undefined && (time === undefined || time.getTime() > since.getTime())) {
      reject(`it is not authenticated but dated ${time?.toISOString() ?? '(no date)'}, after this installation started authenticating every record (${since.toISOString()})`);
    }
  }
  return authenticity;
}

/** The record's own time: createdAt, or verifiedAt / startedAt for kinds that use those. */
function recordTime(record: Record<string, unknown>): Date | undefined {
  for (const field of ['createdAt', 'verifiedAt', 'startedAt']) {
    const value = record[field];
    if (typeof value === 'string') {
      const at = new Date(value);
      return Number.isNaN(at.getTime()) ? undefined : at;
    }
  }
  return undefined;
}

/** Walks the whole record, so artifacts that later versions add are covered too. */
function artifactProblem(value: unknown, prefix: string, path = ''): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const problem = artifactProblem(item, prefix, `${path}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  for (const [name, member] of Object.entries(value as Record<string, unknown>)) {
    const at = path === '' ? name : `${path}.${name}`;
    if (name === 'encryption' && member === null) return `${at} is null: it names an unencrypted artifact, which no Bantay with a key writes`;
    if (name === 'key' && typeof member === 'string' && !(member.startsWith(prefix) && !member.slice(prefix.length).split('/').includes('..'))) {
      return `${at} names an artifact outside ${prefix} (${printableKey(member)})`;
    }
    const problem = artifactProblem(member, prefix, at);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function printableKey(key: string): string {
  const cleaned = key.replace(/[\u0000-\u001f\u007f]/g, '?');
  return cleaned.length > 96 ? `${cleaned.slice(0, 93)}...` : cleaned;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  return `${issue.path.length ? issue.path.join('.') : 'record'}: ${issue.message}`;
}

/** The INTEGRITY error of a record that parsed but is not the one asked for (wrong id inside). */
export function malformed(names: RecordNames, reason = 'it names another record than the one at its place'): RecordRefused {
  return new RecordRefused('damaged', reason, names.record);
}

/** "20261126T020000Z": the UTC second of `at`, as used in every id Bantay makes. */
export function compactUtcStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}
