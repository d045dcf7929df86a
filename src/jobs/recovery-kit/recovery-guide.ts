import type { BackupKind } from '../../catalog/backup-id.ts';
import type { StoreLocation } from '../../storage/open-store.ts';

/**
 * RECOVERY.md, the one page that goes with bantay-recover.mjs: where the backups are, which key
 * (by fingerprint, never the key), and the exact commands per scenario. Pure: everything comes
 * from `GuideFacts`, so a test can run the commands it prints.
 *
 * Every scenario is one ```sh block under its own "## N. Title" heading; the blocks use only
 * the kit, Node.js and the PostgreSQL client tools, and shell variables the text explains.
 */
export interface GuideFacts {
  generatedAt: Date;
  bantayVersion: string;
  /** SHA-256 of bantay-recover.mjs as written next to this guide. */
  toolSha256: string;
  store: StoreLocation;
  secondary?: StoreLocation;
  primaryKeyId?: string;
  retiredKeyIds: string[];
  /** The newest backup of each kind when the kit was made. */
  newest: Array<{ kind: BackupKind; id: string; createdAt: string; serverVersion?: string }>;
}

export const KIT_TOOL_NAME = 'bantay-recover.mjs';
export const KIT_GUIDE_NAME = 'RECOVERY.md';

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function describeLocation(loc: StoreLocation): string {
  if (loc.type === 'local') return `the directory \`${loc.dir}\` on the Bantay host (BANTAY_STORE=${loc.dir})`;
  const where = loc.endpoint ? `endpoint ${loc.endpoint}` : 'AWS S3';
  return `\`s3://${loc.bucket}/${loc.prefix}\` (${where}, region ${loc.region}${loc.forcePathStyle ? ', path-style addressing' : ''})`;
}

/** The `export` lines that point the tool at a location; credentials are left for the reader. */
function storeExports(loc: StoreLocation): string[] {
  if (loc.type === 'local') {
    return [`export BANTAY_STORE=${shellQuote(loc.dir)}   # or wherever that directory is mounted/copied now`];
  }
  const lines = [`export BANTAY_STORE=${shellQuote(`s3://${loc.bucket}/${loc.prefix}`)}`];
  if (loc.endpoint) lines.push(`export S3_ENDPOINT=${shellQuote(loc.endpoint)}`);
  lines.push(`export S3_REGION=${shellQuote(loc.region)}`);
  if (loc.endpoint && !loc.forcePathStyle) lines.push('export S3_FORCE_PATH_STYLE=false');
  if (!loc.endpoint && loc.forcePathStyle) lines.push('export S3_FORCE_PATH_STYLE=true');
  lines.push('export AWS_ACCESS_KEY_ID=...       # from your password manager: never written into this kit');
  lines.push('export AWS_SECRET_ACCESS_KEY=...   # (read-only credentials are enough)');
  return lines;
}

export function renderRecoveryGuide(f: GuideFacts): string {
  const keys = f.primaryKeyId === undefined && f.retiredKeyIds.length === 0
    ? '- **No encryption key was configured**: the backups are stored unencrypted and nothing can authenticate them.'
    : [
        ...(f.primaryKeyId ? [`- Current key (encrypts new backups): \`${f.primaryKeyId}\``] : []),
        ...f.retiredKeyIds.map((id) => `- Retired key (still reads older backups): \`${id}\``),
      ].join('\n');
  const newest = f.newest.length === 0
    ? 'There were no backups yet when this kit was made.'
    : ['| Kind | Newest backup | Created (UTC) |', '|---|---|---|', ...f.newest.map((n) => `| ${n.kind} | \`${n.id}\` | ${n.createdAt} |`)].join('\n');
  const pgVersion = f.newest.find((n) => n.kind === 'database')?.serverVersion;
  return `# Bantay recovery kit

Made ${f.generatedAt.toISOString()} by Bantay ${f.bantayVersion}. This page and \`${KIT_TOOL_NAME}\`
restore Bantay's backups with **nothing but Node.js 20 or newer and the PostgreSQL client
tools**: no Bantay, no npm install, no state database, no Slack. The kit does **not** contain
the encryption key or any password. Tool SHA-256: \`${f.toolSha256}\`
(\`sha256sum ${KIT_TOOL_NAME}\`).

## 1. Where the backups are

- Primary: ${describeLocation(f.store)}
${f.secondary ? `- Secondary copy: ${describeLocation(f.secondary)} (use it when the primary is gone: point BANTAY_STORE there)\n` : ''}
${newest}

## 2. The key

${keys}

The key itself is kept **outside the bucket**, where your team keeps it (password manager, a
sealed copy in the office safe). Without it no encrypted backup can be read by anyone.
\`node ${KIT_TOOL_NAME} keys\` prints the fingerprint of the key you configured: it must match
one above.

## 3. Set up (every scenario)

\`\`\`sh
cd /path/to/this/kit                 # the directory holding ${KIT_TOOL_NAME}
${storeExports(f.store).join('\n')}
read -rsp 'Encryption key: ' BANTAY_ENCRYPTION_KEY && export BANTAY_ENCRYPTION_KEY && echo
# retired keys, when section 2 lists some: read -rsp 'Retired keys: ' BANTAY_DECRYPTION_KEYS && export BANTAY_DECRYPTION_KEYS
node ${KIT_TOOL_NAME} keys             # must print a fingerprint listed in section 2
node ${KIT_TOOL_NAME} list             # every backup; REJECTED ones are never restored
\`\`\`

Every command checks the manifest's authentication, the SHA-256 and size of the stored and the
decrypted bytes, and every encrypted chunk. \`--out FILE\` appears only when all checks passed;
when writing to a pipe, only exit status 0 means the output is complete. Replace \`latest\` by
an id from \`list\` to restore an older backup.

## 4. Database

Restore into a new, empty database (\`createdb fbms_restored\`), then point the application at
it. \`TARGET_URL\` is its connection URL, e.g. \`postgres://postgres@localhost:5432/fbms_restored\`.
${pgVersion ? `The backup came from PostgreSQL ${pgVersion}: use pg_restore of that major version or newer.\n` : ''}
\`\`\`sh
node ${KIT_TOOL_NAME} decrypt latest --kind database --out fbms.dump
pg_restore --no-owner --exit-on-error --dbname="$TARGET_URL" fbms.dump
rm fbms.dump
\`\`\`

Without a temporary file: \`node ${KIT_TOOL_NAME} decrypt latest --kind database | pg_restore
--no-owner --exit-on-error --dbname="$TARGET_URL"\`, then check that both exited 0.
\`node ${KIT_TOOL_NAME} show latest --kind database\` lists every artifact of the backup (and the
tables with their row counts, to compare after the restore).

## 5. Point in time

Bantay archives WAL under \`wal/<system id>/\` (\`bantay wal push\` / \`bantay wal stream\`). To
recover to a moment, restore a physical base backup taken before it into a new data directory:
\`node ${KIT_TOOL_NAME} list-base\` lists them newest first (take the newest one CREATED before
the moment, with status authenticated), then
\`node ${KIT_TOOL_NAME} decrypt-object base/<id>/base.tar.zst.enc | zstd -dc | tar -xf - -C DATADIR\`
(an empty directory, owned by the postgres user; check every command exited 0; the zstd program
is Debian's package \`zstd\`). The artifact's name, as \`list-base\` shows it, says how it is
compressed: \`base.tar.gz.enc\` goes through \`tar -xzf -\` instead, \`base.tar.enc\` through
\`tar -xf -\`. Then create \`DATADIR/recovery.signal\`, and let PostgreSQL
fetch WAL through the kit, in \`postgresql.conf\`:

    restore_command = 'node /path/to/kit/${KIT_TOOL_NAME} wal-fetch %f %p'
    recovery_target_time = '2026-11-26 14:29:00+08'
    recovery_target_action = 'promote'

The variables of section 3 must be in the server's environment (or put
\`BANTAY_STORE=... BANTAY_ENCRYPTION_KEY_FILE=...\` in front of \`node\` in restore_command; a
key *file* readable only by the postgres user, never the key itself). wal-fetch checks each
file's record and SHA-256, exits 1 for a file that is not archived (the end of the archive) and
126 for a damaged one, which stops the recovery instead of ending it early. Without base
backups, the recovery point is the newest database backup (section 4).

## 6. Files

Restores the whole tree (uploads: the full backup and every incremental up to the one chosen)
into a new directory, checking every file's SHA-256; nothing is left behind on failure.

\`\`\`sh
node ${KIT_TOOL_NAME} decrypt latest --kind uploads --extract ./uploads-restored
node ${KIT_TOOL_NAME} decrypt latest --kind application --extract ./app-restored
\`\`\`

Then move the directories into place (e.g. \`mv ./uploads-restored /srv/fbms/uploads\`). The raw
archive is also a plain tar (\`decrypt ID --artifact files.tar --out files.tar\`), but entries
marked \`BANTAY.compression=gzip\` are gzip-compressed inside it: prefer \`--extract\`.

## 7. New server (the old one is gone)

1. Install Node.js 20+ and PostgreSQL (server and client tools) of the old major version or newer.
2. Copy this kit onto it (from wherever you keep it: not only in the bucket) and fetch the key.
3. Section 3, then section 4 into a new database, then section 6 into the application's
   directories. Create the application's database roles first if they do not exist yet.
4. Start the application, check it, then reinstall Bantay and take a backup at once.
`;
}
