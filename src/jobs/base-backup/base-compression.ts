/**
 * How a base backup's tar is compressed: always by the database server (pg_basebackup
 * --compress=server-...), so Bantay's host only encrypts and hashes.
 *
 * zstd level 1 is the default, chosen by measurement (README "Base backup compression"): on a
 * 400 MB database the server's zstd took 1.6 s (1.0 s with workers=2) where gzip level 1 took
 * 13 s, for a slightly smaller archive. Restores inflate zstd with the `zstd` program when it is
 * installed, else in-process (slower, but it works on any Node).
 */
export type BaseCompression = { method: 'zstd'; level: number; workers: number } | { method: 'gzip'; level: number } | { method: 'none' };
export type BaseCompressionMethod = BaseCompression['method'];

export const DEFAULT_BASE_COMPRESSION: BaseCompression = { method: 'zstd', level: 1, workers: 0 };

/** Parses BANTAY_BASE_COMPRESSION: `zstd[:LEVEL][,workers=N]`, `gzip[:LEVEL]` or `none`. */
export function parseBaseCompression(value: string | undefined): BaseCompression | { problem: string } {
  if (value === undefined || value.trim() === '') return DEFAULT_BASE_COMPRESSION;
  const text = value.trim().toLowerCase();
  if (text === 'none') return { method: 'none' };
  const usage = 'must be zstd[:LEVEL][,workers=N] (LEVEL 1-22, N 0-32), gzip[:LEVEL] (1-9) or none';
  const zstd = /^zstd(?::(\d{1,2}))?(?:,workers=(\d{1,2}))?$/.exec(text);
  if (zstd) {
    const level = zstd[1] === undefined ? 1 : Number(zstd[1]);
    const workers = zstd[2] === undefined ? 0 : Number(zstd[2]);
    if (level < 1 || level > 22 || workers > 32) return { problem: usage };
    return { method: 'zstd', level, workers };
  }
  const gzip = /^gzip(?::(\d))?$/.exec(text);
  if (gzip) {
    const level = gzip[1] === undefined ? 1 : Number(gzip[1]);
    if (level < 1) return { problem: usage };
    return { method: 'gzip', level };
  }
  return { problem: usage };
}

/** pg_basebackup's --compress argument (server side; PostgreSQL 15 or newer). */
export function basebackupCompressArg(c: BaseCompression): string {
  switch (c.method) {
    case 'none':
      return '--compress=none';
    case 'gzip':
      return `--compress=server-gzip:${c.level}`;
    case 'zstd':
      return `--compress=server-zstd:level=${c.level}${c.workers > 0 ? `,workers=${c.workers}` : ''}`;
  }
}

/** How the setting reads in messages: `zstd:1`, `zstd:1,workers=2`, `gzip:6`, `none`. */
export function describeBaseCompression(c: BaseCompression): string {
  if (c.method === 'none') return 'none';
  if (c.method === 'gzip') return `gzip:${c.level}`;
  return `zstd:${c.level}${c.workers > 0 ? `,workers=${c.workers}` : ''}`;
}

/** The artifact's file name, which says how to unpack it by hand (RECOVERY.md). */
export function baseArtifactName(method: BaseCompressionMethod): string {
  return { zstd: 'base.tar.zst', gzip: 'base.tar.gz', none: 'base.tar' }[method];
}
