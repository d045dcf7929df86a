import { z } from 'zod';

/**
 * The file index of a files backup (docs/files-format.md): JSON lines, the first a header naming
 * the backup, then one record per entry. A full backup records every entry of the tree; an
 * incremental records only what changed since its parent (added, modified, metadata-only) and
 * the paths deleted. Applying the records of a chain, full first, gives the exact tree at any
 * point of it. For a file, `in` is the backup whose archive holds its content.
 */
export const INDEX_FORMAT = 'bantay-files-index-v1';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const mode = z.number().int().min(0).max(0o7777);
/** Modification time in whole microseconds since the epoch: what utimes(2) can set back exactly. */
const mtimeUs = z.number().int();

const fileRecord = z.object({ path: z.string(), type: z.literal('file'), size: z.number().int().min(0), mode, mtimeUs, sha256, in: z.string() });
const dirRecord = z.object({ path: z.string(), type: z.literal('dir'), mode, mtimeUs });
const symlinkRecord = z.object({ path: z.string(), type: z.literal('symlink'), target: z.string(), mtimeUs });
const deletedRecord = z.object({ path: z.string(), type: z.literal('deleted') });

export const indexRecordSchema = z.discriminatedUnion('type', [fileRecord, dirRecord, symlinkRecord, deletedRecord]);
export const indexHeaderSchema = z.object({ format: z.literal(INDEX_FORMAT), backupId: z.string() });

export type FileRecord = z.infer<typeof fileRecord>;
export type DirRecord = z.infer<typeof dirRecord>;
export type SymlinkRecord = z.infer<typeof symlinkRecord>;
export type DeletedRecord = z.infer<typeof deletedRecord>;
export type IndexRecord = z.infer<typeof indexRecordSchema>;
/** What exists in a tree: every record kind but deletions. The root directory has path ".". */
export type TreeEntry = FileRecord | DirRecord | SymlinkRecord;
/** A whole tree at one point of a chain, keyed by path. */
export type TreeState = Map<string, TreeEntry>;

export const ROOT_PATH = '.';

export function indexKey(id: string, encrypted: boolean): string {
  return `backups/${id}/files.jsonl.gz${encrypted ? '.enc' : ''}`;
}

export function archiveKey(id: string, encrypted: boolean): string {
  return `backups/${id}/files.tar${encrypted ? '.enc' : ''}`;
}

/** Applies one backup's records to a state, in place: deletions remove, the rest replace. */
export function applyRecords(state: TreeState, records: Iterable<IndexRecord>): TreeState {
  for (const record of records) {
    if (record.type === 'deleted') state.delete(record.path);
    else state.set(record.path, record);
  }
  return state;
}

/** Number and total size of the regular files in a state. */
export function summarizeState(state: TreeState): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of state.values()) {
    if (entry.type !== 'file') continue;
    files += 1;
    bytes += entry.size;
  }
  return { files, bytes };
}

/**
 * Orders paths so that a directory comes before everything in it and siblings sort by name:
 * the order of the tree walk, of the archive and of the index.
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  if (a === ROOT_PATH) return -1;
  if (b === ROOT_PATH) return 1;
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i += 1) {
    if (as[i] !== bs[i]) return as[i]! < bs[i]! ? -1 : 1;
  }
  return as.length - bs.length;
}
