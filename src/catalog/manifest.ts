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

/**
 * What a database backup holds besides row counts, read in the dump's own snapshot
 * (src/jobs/contents/). Its presence also says how `tables` is keyed: qualified names with
 * quoted identifiers (src/catalog/table-name.ts), so `"a.b".c` and `a."b.c"` differ;
 * manifests without it keyed tables as plain `schema.table`.
 */
const sequenceStateSchema = z.object({
  /** last_value as text (bigint), read just before pg_dump started. */
  lastValue: z.string().regex(/^-?\d{1,20}$/),
  isCalled: z.boolean(),
  /** Read again after pg_dump finished, when it had moved: sequences are not transactional, so the dump holds a value in between. */
  after: z.object({ lastValue: z.string().regex(/^-?\d{1,20}$/), isCalled: z.boolean() }).optional(),
});

const contentsSchema = z.object({
  keyFormat: z.literal('quoted-v1'),
  /** Partitioned table -> its direct partitions (sorted); partitions' rows are in `tables`. */
  partitions: z.record(z.string(), z.array(z.string())),
  /** Legacy inheritance parent -> its direct children; the parent's count in `tables` is FROM ONLY. */
  inheritance: z.record(z.string(), z.array(z.string())),
  sequences: z.record(z.string(), sequenceStateSchema),
  /** Count, and SHA-256 over (oid, size, SHA-256 of the content) of every large object in oid order. */
  largeObjects: z.object({ count: z.number(), sha256: sha256Hex }),
  /** Materialized view -> populated (pg_restore refreshes populated ones, so they come back with data). */
  materializedViews: z.record(z.string(), z.boolean()),
  /** User functions (incl. procedures and aggregates), user triggers and indexes, extensions' own excluded. */
  objects: z.object({ functions: z.number(), triggers: z.number(), indexes: z.number() }),
});

export type ManifestContents = z.infer<typeof contentsSchema>;

/**
 * The cluster globals a database backup needs on a new server (src/jobs/globals/): the roles it
 * references, their memberships and settings, and the database's own attributes, stored as an
 * encrypted artifact next to the dump.
 */
const globalsRefSchema = z.object({
  key: z.string(),
  sizeBytes: z.number(),
  sha256: sha256Hex,
  plainSizeBytes: z.number(),
  plainSha256: sha256Hex,
  roles: z.number(),
  /** Whether role passwords are in it (BANTAY_BACKUP_ROLE_PASSWORDS and a readable pg_authid). */
  passwords: z.boolean(),
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
    /** pg_control_system().system_identifier of the source server, when Bantay's role may read it. */
    systemIdentifier: z.string().regex(/^\d{1,20}$/).optional(),
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
  /** Exact row counts per table (FROM ONLY), taken in the dump's snapshot; keys as `contents` says. */
  tables: z.record(z.string(), z.number()).optional(),
  /** Database backups: sequences, large objects, views and object counts in the same snapshot. */
  contents: contentsSchema.optional(),
  /** Database backups: the roles and database attributes it needs on a new server. */
  globals: globalsRefSchema.optional(),
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
