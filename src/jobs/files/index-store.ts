import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip } from 'node:zlib';
import { indexHeaderSchema, indexRecordSchema, INDEX_FORMAT, type IndexRecord } from '../../catalog/file-index.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { chainStreams } from '../chain-streams.ts';
import type { JobDeps } from '../job-context.ts';
import { openSealed, putSealed, type SealedObject } from './sealed-object.ts';

/**
 * Stores and reads the file index of a files backup: JSON lines (catalog/file-index.ts),
 * gzip-compressed, encrypted like the archive, its size and SHA-256 recorded in the manifest.
 */
export async function writeIndex(
  backupId: string,
  records: readonly IndexRecord[],
  key: string,
  deps: Pick<JobDeps, 'store' | 'keyRing'>,
  signal?: AbortSignal,
): Promise<SealedObject> {
  const lines = function* (): Generator<string> {
    yield `${JSON.stringify({ format: INDEX_FORMAT, backupId })}\n`;
    for (const record of records) yield `${JSON.stringify(record)}\n`;
  };
  return putSealed(Readable.from(lines(), { objectMode: false }), [createGzip()], key, deps, { signal, contentType: 'application/gzip' });
}

/** Every record of a backup's index, checked (digest, decryption, schema, backup id). */
export async function readIndex(manifest: Manifest, deps: Pick<JobDeps, 'store' | 'keyRing'>, signal?: AbortSignal): Promise<IndexRecord[]> {
  const files = manifest.files;
  if (files === undefined) throw new BantayError(ErrorCode.InvalidInput, `${manifest.id} is not a files backup (its manifest has no file index)`);
  const describe = `the file index of ${manifest.id}`;
  const plain = await openSealed(
    { key: files.key, sizeBytes: files.sizeBytes, sha256: files.sha256, keyId: manifest.artifact.encryption?.keyId ?? null, describe },
    deps,
    { signal },
  );
  const records: IndexRecord[] = [];
  let header = true;
  for await (const line of splitLines(chainStreams(plain, createGunzip()))) {
    if (line === '') continue;
    const json = parseJson(line, describe);
    if (header) {
      const parsed = indexHeaderSchema.safeParse(json);
      if (!parsed.success || parsed.data.backupId !== manifest.id) throw malformed(describe, 'its header does not name this backup');
      header = false;
      continue;
    }
    const parsed = indexRecordSchema.safeParse(json);
    if (!parsed.success) throw malformed(describe, `record ${records.length + 1} is invalid`);
    records.push(parsed.data);
  }
  if (header) throw malformed(describe, 'it is empty');
  if (records.length !== files.count) throw malformed(describe, `it holds ${records.length} records, the manifest says ${files.count}`);
  return records;
}

async function* splitLines(stream: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    rest += decoder.write(chunk);
    let start = 0;
    for (let end = rest.indexOf('\n'); end >= 0; end = rest.indexOf('\n', start)) {
      yield rest.slice(start, end);
      start = end + 1;
    }
    rest = rest.slice(start);
  }
  rest += decoder.end();
  if (rest !== '') yield rest;
}

function parseJson(line: string, describe: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw malformed(describe, 'a line is not JSON');
  }
}

function malformed(describe: string, reason: string): BantayError {
  return new BantayError(ErrorCode.Integrity, `${describe.charAt(0).toUpperCase()}${describe.slice(1)} is malformed: ${reason}`);
}
