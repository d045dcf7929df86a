import { chmod, chown, mkdir, readdir } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { x as extractTar } from 'tar';
import type { RunAsUser } from '../../dev/pg-cluster-process.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import type { BaseManifest } from '../base-backup/base-manifest.ts';
import { inflateStages } from '../base-backup/inflate-stage.ts';
import { openSealed } from '../files/sealed-object.ts';
import type { JobDeps } from '../job-context.ts';
import type { ProgressReporter } from '../progress.ts';

/**
 * Unpacks a base backup into `dataDir` (created 0700, must be absent or empty), streaming:
 * stored bytes checked and decrypted chunk by chunk, inflated (inflate-stage.ts), untarred, with no copy of the
 * archive on disk. Files belong to `owner` (the server's user when we run as root). A damaged
 * backup fails the pipeline; the caller removes the half-unpacked directory.
 */
export async function unpackBase(
  manifest: BaseManifest,
  dataDir: string,
  deps: Pick<JobDeps, 'store' | 'keyRing'>,
  options: { owner?: RunAsUser; signal?: AbortSignal; reporter?: ProgressReporter } = {},
): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if ((await readdir(dataDir)).length > 0) throw new BantayError(ErrorCode.InvalidInput, `${dataDir} is not empty; recovery needs an empty (or new) directory`);
  await chmod(dataDir, 0o700);
  if (options.owner !== undefined) await chown(dataDir, options.owner.uid, options.owner.gid);
  const { artifact } = manifest;
  const sealed = await openSealed(
    {
      key: artifact.key,
      sizeBytes: artifact.sizeBytes,
      sha256: artifact.sha256,
      plain: { sizeBytes: artifact.plainSizeBytes, sha256: artifact.plainSha256 },
      keyId: artifact.encryption?.keyId ?? null,
      describe: `base backup ${manifest.id}`,
    },
    deps,
    { signal: options.signal, onBytes: (bytes) => options.reporter?.bytes?.(bytes, artifact.sizeBytes) },
  );
  const stages = await inflateStages(artifact.compression, { signal: options.signal });
  const owner = options.owner === undefined ? {} : { uid: options.owner.uid, gid: options.owner.gid, preserveOwner: false };
  const unpack = extractTar({ cwd: dataDir, strict: true, ...owner });
  await pipeline([sealed, ...stages, unpack as unknown as NodeJS.WritableStream], { signal: options.signal });
}
