import { z } from 'zod';

/**
 * The manifest: everything needed to trust, find and restore one backup without any other
 * state. Written last, next to the artifact; a backup exists exactly when its manifest does.
 * Never rewritten: later facts (verification) go in separate records beside it.
 */
export const manifestSchema = z.object({
  formatVersion: z.literal(1),
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
});

export type Manifest = z.infer<typeof manifestSchema>;

export function manifestKey(id: string): string {
  return `backups/${id}/manifest.json`;
}

export function artifactKey(id: string, fileName: string): string {
  return `backups/${id}/${fileName}`;
}
