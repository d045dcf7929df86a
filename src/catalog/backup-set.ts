import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { BantayError, ErrorCode } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { printable } from './backup-id.ts';
import { compactUtcStamp, malformed, readJsonRecord, writeJsonRecord, type RecordTrust } from './json-record.ts';

/**
 * A backup set links backups taken together: `backup full` (database + application + uploads as
 * a new chain) and `backup pre-deploy <version>` (database + application). Each member's
 * manifest carries the set id and its role. The set record `sets/<setId>/set.json` is written
 * once, after every part finished: `complete` is true only when every part succeeded. A failed
 * part is recorded with its error; the parts that succeeded stay listed as ordinary backups,
 * because a good database dump is worth keeping even when the uploads part of its set failed.
 */
export const SET_ROLES = ['database', 'application', 'uploads'] as const;
export type SetRole = (typeof SET_ROLES)[number];

const partSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('succeeded'), backupId: z.string() }),
  z.object({ status: z.literal('failed'), backupId: z.string().optional(), error: z.string() }),
]);

export const backupSetSchema = z.object({
  /** 2 since authenticated records (docs/catalog-authentication.md); 1 from earlier versions. */
  formatVersion: z.union([z.literal(1), z.literal(2)]),
  setId: z.string(),
  type: z.enum(['full', 'pre-deploy']),
  label: z.string().optional(),
  createdAt: z.string(),
  completedAt: z.string(),
  complete: z.boolean(),
  trigger: z.object({ by: z.string(), via: z.enum(['cli', 'slack', 'schedule', 'api']) }),
  parts: z.partialRecord(z.enum(SET_ROLES), partSchema),
});

export type BackupSet = z.infer<typeof backupSetSchema>;
export type SetPart = z.infer<typeof partSchema>;

const SET_ID = /^set-\d{8}T\d{6}Z-[0-9a-f]{4}$/;

export function newSetId(at: Date = new Date()): string {
  return `set-${compactUtcStamp(at)}-${randomBytes(2).toString('hex')}`;
}

export function parseSetId(value: string): string {
  const trimmed = value.trim();
  if (!SET_ID.test(trimmed)) throw new BantayError(ErrorCode.InvalidInput, `"${printable(trimmed)}" is not a set id (expected set-20261126T020000Z-7f3a)`);
  return trimmed;
}

export function setKey(setId: string): string {
  return `sets/${setId}/set.json`;
}

export async function writeBackupSet(store: ObjectStore, set: BackupSet, trust: RecordTrust, signal?: AbortSignal): Promise<void> {
  await writeJsonRecord(store, setKey(set.setId), set, trust, signal);
}

export async function readBackupSet(store: ObjectStore, trust: RecordTrust, setId: string): Promise<BackupSet> {
  parseSetId(setId);
  const names = { missing: `backup set ${setId}`, record: `The record of set ${setId}` };
  const set = (await readJsonRecord(store, setKey(setId), backupSetSchema, names, trust)).value;
  if (set.setId !== setId) throw malformed(names);
  return set;
}

/** Every set record in the store, newest first. */
export async function listBackupSets(store: ObjectStore, trust: RecordTrust): Promise<BackupSet[]> {
  const sets: BackupSet[] = [];
  for await (const info of store.list('sets/')) {
    const match = /^sets\/([^/]+)\/set\.json$/.exec(info.key);
    if (match?.[1] !== undefined && SET_ID.test(match[1])) sets.push(await readBackupSet(store, trust, match[1]));
  }
  return sets.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
