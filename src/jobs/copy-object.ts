import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { BantayError, ErrorCode } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { chainStreams } from './chain-streams.ts';
import { createDigestCheck, StreamMeter } from './stream-meter.ts';

export interface ExpectedDigest {
  sha256: string;
  sizeBytes: number;
}

/**
 * Copies one object from `from` to `to`, streaming (never whole in memory), and proves the copy:
 * - the bytes read from `from` are hashed on the way; when `expected` is known (the manifest's
 *   SHA-256 of an artifact or index) a mismatch fails the upload itself, so a corrupt source is
 *   never propagated and nothing is left under the key at `to`;
 * - the copy is then read back from `to` and hashed again; a mismatch deletes it and throws.
 * Resolves with the size and SHA-256 of the copy.
 */
export async function copyVerified(
  from: ObjectStore,
  to: ObjectStore,
  key: string,
  options: { expected?: ExpectedDigest; signal?: AbortSignal; onBytes?: (bytes: number) => void } = {},
): Promise<{ sizeBytes: number; sha256: string }> {
  const meter = new StreamMeter(options.onBytes);
  const stages: Duplex[] = [meter];
  if (options.expected) stages.push(createDigestCheck(options.expected, `${key} at ${from.description}`));
  const body = chainStreams(await from.get(key, { signal: options.signal }), ...stages);
  await to.put(key, body, { signal: options.signal, contentType: contentTypeOf(key) });
  const source = { sizeBytes: meter.bytes, sha256: meter.digest() };
  const copy = await digestOf(to, key, options.signal);
  if (copy.sha256 !== source.sha256 || copy.sizeBytes !== source.sizeBytes) {
    await to.delete(key).catch(() => undefined);
    throw new BantayError(
      ErrorCode.Integrity,
      `The copy of ${key} at ${to.description} reads back as ${copy.sizeBytes} bytes with SHA-256 ${copy.sha256.slice(0, 12)}…, ` +
        `not the ${source.sizeBytes} bytes with SHA-256 ${source.sha256.slice(0, 12)}… that were sent; it was removed`,
    );
  }
  return copy;
}

/** SHA-256 and size of a stored object, streamed. */
export async function digestOf(store: ObjectStore, key: string, signal?: AbortSignal): Promise<{ sizeBytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of await store.get(key, { signal })) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { sizeBytes, sha256: hash.digest('hex') };
}

function contentTypeOf(key: string): string {
  if (key.endsWith('.json')) return 'application/json';
  if (key.endsWith('.txt')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}
