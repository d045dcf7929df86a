import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ObjectStore } from '../storage/object-store.ts';
import { parseBackupId } from './backup-id.ts';
import { readJsonRecord, writeJsonRecord, type RecordTrust } from './json-record.ts';

/**
 * Verification records: the outcome of restoring a backup and checking the copy, stored next
 * to the manifest as `backups/<id>/verified-<time>-<rand>.json`. The manifest is never
 * rewritten; a backup collects one record per verify, restore or drill, and the newest one
 * says whether it is currently known to restore.
 */
export const checkSchema = z.object({
  name: z.string(),
  status: z.enum(['passed', 'failed', 'skipped']),
  detail: z.string(),
  expected: z.union([z.number(), z.string()]).optional(),
  actual: z.union([z.number(), z.string()]).optional(),
});

export type Check = z.infer<typeof checkSchema>;
export type CheckStatus = Check['status'];

export const verificationSchema = z.object({
  /** 2 since authenticated records (docs/catalog-authentication.md); 1 from earlier versions. */
  formatVersion: z.union([z.literal(1), z.literal(2)]),
  backupId: z.string(),
  /** What restored the copy: a verify, a restore (its pre-swap check) or a drill. */
  source: z.enum(['verify', 'restore', 'drill']),
  verifiedAt: z.string(),
  passed: z.boolean(),
  durationSeconds: z.number(),
  checks: z.array(checkSchema),
  performedBy: z.string(),
  tools: z.record(z.string(), z.string()),
});

export type VerificationRecord = z.infer<typeof verificationSchema>;

const RECORD_KEY = /^backups\/[^/]+\/verified-\d{8}T\d{9}Z-[0-9a-f]{4}\.json$/;

export function verificationKey(backupId: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:.]/g, '');
  return `backups/${parseBackupId(backupId)}/verified-${stamp}-${randomBytes(2).toString('hex')}.json`;
}

export async function writeVerification(store: ObjectStore, record: VerificationRecord, trust: RecordTrust, signal?: AbortSignal): Promise<string> {
  const key = verificationKey(record.backupId, new Date(record.verifiedAt));
  await writeJsonRecord(store, key, record, trust, signal);
  return key;
}

/**
 * Every readable, authentic verification record of a backup, oldest first. Damaged or
 * rejected ones are skipped: a forged "passed" must not count, and a lost one only means the
 * backup is treated as not verified.
 */
export async function listVerifications(store: ObjectStore, trust: RecordTrust, backupId: string): Promise<VerificationRecord[]> {
  const records: VerificationRecord[] = [];
  for (const key of await recordKeys(store, backupId)) {
    const record = await readVerificationRecord(store, trust, key, backupId);
    if (record) records.push(record);
  }
  return records;
}

/** The newest readable verification record of a backup, or undefined when it was never verified. */
export async function latestVerification(store: ObjectStore, trust: RecordTrust, backupId: string): Promise<VerificationRecord | undefined> {
  for (const key of (await recordKeys(store, backupId)).reverse()) {
    const record = await readVerificationRecord(store, trust, key, backupId);
    if (record) return record;
  }
  return undefined;
}

async function recordKeys(store: ObjectStore, backupId: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(`backups/${parseBackupId(backupId)}/verified-`)) {
    if (RECORD_KEY.test(info.key)) keys.push(info.key);
  }
  return keys.sort();
}

/** One verification record, or undefined when it is unreadable, not authentic or not this backup's. */
export async function readVerificationRecord(store: ObjectStore, trust: RecordTrust, key: string, backupId?: string): Promise<VerificationRecord | undefined> {
  try {
    const names = { missing: `verification record ${key}`, record: `The verification record ${key}` };
    const { value } = await readJsonRecord(store, key, verificationSchema, names, trust);
    return backupId === undefined || value.backupId === backupId ? value : undefined;
  } catch {
    return undefined;
  }
}
