import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { BACKUP_KINDS } from '../../catalog/backup-id.ts';
import { listBackups } from '../../catalog/catalog.ts';
import type { KeyRing } from '../../crypto/keys.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { StoreLocation } from '../../storage/open-store.ts';
import { BANTAY_VERSION } from '../../version.ts';
import { KIT_GUIDE_NAME, KIT_TOOL_NAME, renderRecoveryGuide } from './recovery-guide.ts';

/** The standalone tool as shipped in the repository (recovery/bantay-recover.mjs). */
export const RECOVERY_TOOL_PATH = fileURLToPath(new URL('../../../recovery/bantay-recover.mjs', import.meta.url));
/** Where the copy in the store goes, next to backups/. */
export const KIT_PREFIX = 'recovery-kit/';

export interface RecoveryKit {
  tool: Buffer;
  toolSha256: string;
  guide: string;
}

export interface KitSources {
  store: ObjectStore;
  location: StoreLocation;
  secondary?: StoreLocation;
  keyRing: KeyRing;
  now?: () => Date;
}

/**
 * The kit: the tool's bytes and a RECOVERY.md made from the configuration (locations, key
 * fingerprints) and the store (newest backup of each kind). Never a key, never credentials:
 * StoreLocation's credentials are not read here.
 */
export async function buildRecoveryKit(src: KitSources): Promise<RecoveryKit> {
  const tool = await readFile(RECOVERY_TOOL_PATH);
  const toolSha256 = createHash('sha256').update(tool).digest('hex');
  const manifests = await listBackups(src.store, { keyRing: src.keyRing, now: src.now });
  const newest = BACKUP_KINDS.flatMap((kind) => {
    const m = manifests.find((x) => x.kind === kind);
    return m ? [{ kind, id: m.id, createdAt: m.createdAt, ...(m.source.serverVersion ? { serverVersion: m.source.serverVersion } : {}) }] : [];
  });
  const primary = src.keyRing.primary?.id;
  const guide = renderRecoveryGuide({
    generatedAt: src.now?.() ?? new Date(),
    bantayVersion: BANTAY_VERSION,
    toolSha256,
    store: src.location,
    ...(src.secondary ? { secondary: src.secondary } : {}),
    ...(primary ? { primaryKeyId: primary } : {}),
    retiredKeyIds: src.keyRing.ids().filter((id) => id !== primary),
    newest,
  });
  return { tool, toolSha256, guide };
}

/** Writes the two kit files into `dir` (created if missing), each atomically (temp + rename). */
export async function writeKitToDirectory(kit: RecoveryKit, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, body] of [[KIT_TOOL_NAME, kit.tool], [KIT_GUIDE_NAME, kit.guide]] as const) {
    const path = join(dir, name);
    const temp = join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(temp, body, { mode: 0o644, flag: 'wx' });
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    written.push(path);
  }
  return written;
}

/** Stores the kit under recovery-kit/ in the store, next to the backups. Resolves with the keys. */
export async function storeKitCopy(kit: RecoveryKit, store: ObjectStore, signal?: AbortSignal): Promise<string[]> {
  const keys = [`${KIT_PREFIX}${KIT_TOOL_NAME}`, `${KIT_PREFIX}${KIT_GUIDE_NAME}`];
  await store.put(keys[0]!, Readable.from([kit.tool]), { signal, contentType: 'text/javascript' });
  await store.put(keys[1]!, Readable.from([Buffer.from(kit.guide)]), { signal, contentType: 'text/markdown' });
  return keys;
}
