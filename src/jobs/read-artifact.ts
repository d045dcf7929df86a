import type { Duplex, Readable } from 'node:stream';
import type { Manifest } from '../catalog/manifest.ts';
import { createDecryptStream } from '../crypto/decrypt-stream.ts';
import { BantayError, ErrorCode } from '../errors.ts';
import { chainStreams } from './chain-streams.ts';
import type { JobDeps } from './job-context.ts';
import type { ProgressReporter } from './progress.ts';
import { createDigestCheck, StreamMeter } from './stream-meter.ts';

/**
 * The plaintext of a backup artifact as a stream: stored bytes are checked against the
 * manifest's size and SHA-256 and decrypted (each chunk authenticated) on the way. The stream
 * errors, never ends cleanly, when anything does not match; consumers must treat output as
 * provisional until it ends.
 */
export async function openArtifact(
  manifest: Manifest,
  deps: Pick<JobDeps, 'store' | 'keyRing'>,
  options: { signal?: AbortSignal; reporter?: ProgressReporter } = {},
): Promise<Readable> {
  const encryption = manifest.artifact.encryption;
  if (encryption && deps.keyRing.find(encryption.keyId) === undefined) {
    const configured = deps.keyRing.ids();
    throw new BantayError(
      ErrorCode.KeyMissing,
      `Backup ${manifest.id} is encrypted with key ${encryption.keyId}, which is not configured ` +
        `(configured: ${configured.length ? configured.join(', ') : 'none'}); add it to BANTAY_DECRYPTION_KEYS`,
    );
  }
  const raw = await deps.store.get(manifest.artifact.key, { signal: options.signal, onRetry: (message) => options.reporter?.warn?.(message) });
  const stages: Duplex[] = [
    new StreamMeter((bytes) => options.reporter?.bytes?.(bytes, manifest.artifact.sizeBytes)),
    createDigestCheck(manifest.artifact, `The artifact of ${manifest.id}`),
  ];
  if (encryption) stages.push(createDecryptStream(deps.keyRing, manifest.artifact.key));
  stages.push(createDigestCheck({ sha256: manifest.artifact.plainSha256, sizeBytes: manifest.artifact.plainSizeBytes }, `The decrypted dump of ${manifest.id}`));
  return chainStreams(raw, ...stages);
}
