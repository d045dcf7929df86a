import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { z } from 'zod';
import { BantayError, ErrorCode, isBantayError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/**
 * The small JSON records the catalog keeps in the store (manifests, set records, export
 * manifests, verification records, drill reports) are written and read the same way: pretty
 * JSON with a trailing newline, and on read a missing key becomes NOT_FOUND ("No <missing> in
 * <store>"), anything that is not valid JSON or does not match `schema` becomes INTEGRITY
 * ("<record> is malformed").
 */
export async function writeJsonRecord(store: ObjectStore, key: string, value: unknown, signal?: AbortSignal): Promise<void> {
  const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  await store.put(key, Readable.from([body]), { signal, contentType: 'application/json' });
}

export interface RecordNames {
  /** e.g. "backup db-…": what is missing. */
  missing: string;
  /** e.g. "The manifest of db-…": the subject of an integrity error. */
  record: string;
}

export async function readJsonRecord<T>(store: ObjectStore, key: string, schema: z.ZodType<T>, names: RecordNames): Promise<T> {
  let raw: string;
  try {
    raw = await text(await store.get(key));
  } catch (err) {
    if (isBantayError(err) && err.code === ErrorCode.NotFound) {
      throw new BantayError(ErrorCode.NotFound, `No ${names.missing} in ${store.description}`, { cause: err });
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new BantayError(ErrorCode.Integrity, `${names.record} is not valid JSON`, { cause: err });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw malformed(names);
  return parsed.data;
}

/** The INTEGRITY error of a record that parsed but is not the one asked for (wrong id inside). */
export function malformed(names: RecordNames, cause?: unknown): BantayError {
  return new BantayError(ErrorCode.Integrity, `${names.record} is malformed`, cause === undefined ? {} : { cause });
}

/** "20261126T020000Z": the UTC second of `at`, as used in every id Bantay makes. */
export function compactUtcStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}
