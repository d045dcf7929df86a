import type { Readable } from 'node:stream';
import type { Manifest } from '../catalog/manifest.ts';
import { openSealed } from './files/sealed-object.ts';
import type { JobDeps } from './job-context.ts';
import type { ProgressReporter } from './progress.ts';

/**
 * The plaintext of a database backup's artifact as a stream (files/sealed-object.ts openSealed:
 * stored bytes checked against the manifest's size and SHA-256, each chunk authenticated while
 * decrypting). The stream errors, never ends cleanly, when anything does not match; consumers
 * must treat output as provisional until it ends.
 */
export async function openArtifact(
  manifest: Manifest,
  deps: Pick<JobDeps, 'store' | 'keyRing'>,
  options: { signal?: AbortSignal; reporter?: ProgressReporter } = {},
): Promise<Readable> {
  const { artifact } = manifest;
  return openSealed(
    {
      key: artifact.key,
      sizeBytes: artifact.sizeBytes,
      sha256: artifact.sha256,
      plain: { sizeBytes: artifact.plainSizeBytes, sha256: artifact.plainSha256 },
      keyId: artifact.encryption?.keyId ?? null,
      describe: `backup ${manifest.id}`,
    },
    deps,
    {
      signal: options.signal,
      onBytes: (bytes) => options.reporter?.bytes?.(bytes, artifact.sizeBytes),
      onRetry: (message) => options.reporter?.warn?.(message),
    },
  );
}
