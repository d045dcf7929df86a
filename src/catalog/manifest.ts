import { z } from 'zod';

/**
 * The manifest: everything needed to trust, find and restore one backup without any other
 * state. Written last, next to the artifact; a backup exists exactly when its manifest does.
 * Never rewritten: later facts (verification) go in separate records beside it.
 */
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * The file index of a files backup. `count` is the number of index records (every entry for a
 * full backup; changes and deletions for an incremental); `storedFiles`/`totalBytes` the files
 * whose content is in this backup's archive; `treeFiles`/`treeBytes` the whole tree it restores.
 */
const filesIndexSchema = z.object({
  key: z.string(),
  sizeBytes: z.number(),
  sha256: sha256Hex,
  count: z.number(),
  totalBytes: z.number(),
  storedFiles: z.number().optional(),
  compressedFiles: z.number().optional(),
  treeFiles: z.number().optional(),
  treeBytes: z.number().optional(),
});

/** An uploads chain: a full backup (sequence 0, parentId null) then incrementals on it. */
const chainSchema = z.object({
  chainId: z.string(),
  parentId: z.string().nullable(),
  sequence: z.number(),
  /** createdAt of the chain's full backup; a new chain starts when it is older than the limit. */
  startedAt: z.string(),
  deletions: z.number(),
});

export const manifestSchema = z.object({
  /**
   * 2: written with an `auth` tag when a key is configured (docs/catalog-authentication.md);
   * 1: written by earlier versions, never authenticated.
   */
  formatVersion: z.union([z.literal(1), z.literal(2)]),
  id: z.string(),
  kind: z.enum(['database', 'application', 'uploads']),
  createdAt: z.string(),
  completedAt: z.string(),
  durationSeconds: z.number(),
  label: z.string().optional(),
  trigger: z.object({ by: z.string(), via: z.enum(['cli', 'slack', 'schedule', 'api']) }),
  source: z.object({
    host: z.string(),
    port: z.number().optional(),
    database: z.string().optional(),
    serverVersion: z.string().optional(),
    path: z.string().optional(),
  }),
  tools: z.record(z.string(), z.string()),
  artifact: z.object({
    key: z.string(),
    format: z.string(),
    sizeBytes: z.number(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    plainSizeBytes: z.number(),
    plainSha256: z.string().regex(/^[0-9a-f]{64}$/),
    encryption: z.object({ algorithm: z.string(), keyId: z.string() }).nullable(),
  }),
  /** Exact row counts per table ("schema.table"), taken in the dump's snapshot. */
  tables: z.record(z.string(), z.number()).optional(),
  /** Files backups: the per-file index object stored next to the artifact (docs/files-format.md). */
  files: filesIndexSchema.optional(),
  /** Uploads backups: where this backup sits in its incremental chain. */
  chain: chainSchema.optional(),
  /** Application backups: the exclude globs applied. */
  excludes: z.array(z.string()).optional(),
  /** Set this backup belongs to (backup full, backup pre-deploy); see src/catalog/backup-set.ts. */
  setId: z.string().optional(),
  setRole: z.enum(['database', 'application', 'uploads']).optional(),
  /** Taken with `bantay backup emergency`. */
  emergency: z.boolean().optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;

export function manifestKey(id: string): string {
  return `backups/${id}/manifest.json`;
}

export function artifactKey(id: string, fileName: string): string {
  return `backups/${id}/${fileName}`;
}
