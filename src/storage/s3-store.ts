import { AsyncLocalStorage } from 'node:async_hooks';
import type { FinalizeRequestMiddleware, MetadataBearer } from '@smithy/types';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { addAbortSignal, pipeline, Readable, Transform } from 'node:stream';
import { BantayError, ErrorCode, isAbortError, wrapError } from '../errors.ts';
import { isConsequence } from '../failure.ts';
import { assertValidKey, assertValidPrefix, isValidKey } from './keys.ts';
import { uploadIntegrityPlugin, type S3ChecksumMode } from './s3-integrity.ts';
import { getResumable } from './s3-read.ts';
import { s3LeftoverCleaner } from './s3-leftovers.ts';
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';
import { describeS3 } from './s3-description.ts';

const MIB = 1024 * 1024;
/** S3 rejects non-final multipart parts below 5 MiB and allows at most 5 GiB per part. */
const MIN_PART_SIZE = 5 * MIB;
const MAX_PART_SIZE = 5 * 1024 * MIB;

export interface S3StoreOptions {
  bucket: string;
  /** '' or 'some/prefix' (no leading or trailing slash): keys are stored as `${prefix}/${key}`. */
  prefix: string;
  /** For S3-compatible servers, e.g. http://127.0.0.1:9000. Omit for AWS. */
  endpoint?: string;
  region: string;
  /** true for most S3-compatible servers (bucket in the path, not in the host name). */
  forcePathStyle: boolean;
  /** Omitted: the SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  serverSideEncryption?: 'AES256';
  /**
   * Multipart part size; default 8 MiB, at least 5 MiB. Uploads hold about
   * partSizeBytes * (queueSize + 1) in memory and are limited to 10,000 parts (80 GB at 8 MiB).
   */
  partSizeBytes?: number;
  /** Parts uploaded in parallel; default 4. */
  queueSize?: number;
  /** Attempts per request including the first, with backoff between them; default 5. */
  maxAttempts?: number;
  /**
   * The digest every PutObject/UploadPart carries for the provider to check (s3-integrity.ts):
   * Content-MD5 (default) or x-amz-checksum-sha256. The returned ETag is compared either way.
   */
  checksum?: S3ChecksumMode;
  /** Milliseconds to establish a connection; default 10 s (then the SDK retries). */
  connectTimeoutMs?: number;
  /**
   * Milliseconds a request may go without a byte moving (S3_IDLE_TIMEOUT); default 60 s. A
   * stalled provider is then cut off and retried (reads resume where they stopped) instead of
   * being waited on forever while the backup's snapshot transaction stays open.
   */
  idleTimeoutMs?: number;
}

interface S3Context {
  client: S3Client;
  bucket: string;
  /** '' or 'some/prefix/' (with the trailing slash). */
  keyPrefix: string;
  partSize: number;
  queueSize: number;
  serverSideEncryption: 'AES256' | undefined;
  checksum: S3ChecksumMode;
}

/**
 * An ObjectStore in an S3 bucket (AWS or any S3-compatible server).
 *
 * Checksums: @aws-sdk/client-s3 >= 3.729 adds CRC32 checksums to uploads by default, sent as
 * aws-chunked trailers, which several S3-compatible servers store verbatim or reject. The client
 * is built with requestChecksumCalculation/responseChecksumValidation 'WHEN_REQUIRED' so the
 * stored bytes are exactly the bytes sent. Instead every upload request carries Content-MD5
 * (or x-amz-checksum-sha256) of its body and the returned ETag is compared (s3-integrity.ts),
 * so what the provider stored is what Bantay sent, and the SHA-256 Bantay records is of that.
 */
export function createS3Store(options: S3StoreOptions): ObjectStore {
  const ctx = createContext(options);
  return {
    description: describeS3(options),
    put: (key, body, putOptions = {}) => putObject(ctx, key, body, putOptions),
    get: (key, getOptions = {}) => getObject(ctx, key, getOptions),
    stat: (key) => statObject(ctx, key),
    list: (prefix) => listObjects(ctx, prefix),
    delete: (key) => deleteObject(ctx, key),
    leftovers: s3LeftoverCleaner(ctx),
  };
}

function createContext(options: S3StoreOptions): S3Context {
  const partSize = options.partSizeBytes ?? 8 * MIB;
  const queueSize = options.queueSize ?? 4;
  const maxAttempts = options.maxAttempts ?? 5;
  const problems: string[] = [];
  if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    problems.push(`partSizeBytes must be an integer between ${MIN_PART_SIZE} and ${MAX_PART_SIZE}`);
  }
  if (!Number.isInteger(queueSize) || queueSize < 1) problems.push('queueSize must be an integer >= 1');
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) problems.push('maxAttempts must be an integer >= 1');
  if (options.prefix.startsWith('/') || options.prefix.endsWith('/')) {
    problems.push('prefix must not start or end with "/"');
  }
  if (problems.length > 0) {
    throw new BantayError(ErrorCode.ConfigInvalid, `Invalid S3 store options for ${describeS3(options)}`, { details: problems });
  }
  const client = new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials: options.credentials,
    maxAttempts,
    retryMode: 'standard',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Fail fast on an unreachable endpoint (then retry). socketTimeout is an idle timeout
    // (the socket's inactivity), not a total: a part on a slow link or a slowly consumed
    // download may take long, but a request where nothing moves for idleTimeoutMs is dead.
    requestHandler: { connectionTimeout: options.connectTimeoutMs ?? 10_000, socketTimeout: options.idleTimeoutMs ?? 60_000 },
  });
  const checksum = options.checksum ?? 'md5';
  client.middlewareStack.use(uploadIntegrityPlugin(checksum));
  client.middlewareStack.add(retryNoticeMiddleware(maxAttempts), { step: 'finalizeRequest', priority: 'low', name: 'bantayRetryNotice' });
  const keyPrefix = options.prefix === '' ? '' : `${options.prefix}/`;
  return { client, bucket: options.bucket, keyPrefix, partSize, queueSize, serverSideEncryption: options.serverSideEncryption, checksum };
}

/**
 * Who hears of the retries of the upload running in this async context (put's onRetry); the
 * S3 client is shared by every job of a process, so the listener travels with the call.
 */
const retryListener = new AsyncLocalStorage<(message: string) => void>();

/**
 * Runs inside the SDK's retry loop (finalizeRequest, after the retry middleware): each attempt
 * carries `amz-sdk-request: attempt=N; max=M`, so attempt 2 and later are retries of a request
 * that failed, told to the upload's listener before they are sent.
 */
function retryNoticeMiddleware(maxAttempts: number): FinalizeRequestMiddleware<object, MetadataBearer> {
  return (next, context) =>
    async (args) => {
      const listener = retryListener.getStore();
      const header = (args.request as { headers?: Record<string, string> }).headers?.['amz-sdk-request'] ?? '';
      const attempt = Number(/attempt=(\d+)/.exec(header)?.[1] ?? '1');
      if (listener !== undefined && attempt > 1) {
        const input = args.input as { Key?: string; PartNumber?: number };
        const what = context.commandName === 'UploadPartCommand' ? `part ${input.PartNumber ?? '?'} of the upload` : context.commandName === 'CompleteMultipartUploadCommand' ? 'the completion of the upload' : 'the upload';
        listener(`The store did not take ${what} (attempt ${attempt - 1} failed); trying again, attempt ${attempt} of ${maxAttempts}`);
      }
      return next(args);
    };
}

/** "s3://bucket/prefix (endpoint http://host:port)"; user info in the endpoint URL is dropped. */

/**
 * Streams `body` through lib-storage's Upload: one PutObject for bodies up to one part,
 * otherwise a multipart upload with at most `queueSize` parts in flight.
 *
 * Cancellation deliberately does not use `upload.abort()`: its `done()` then rejects at once,
 * while AbortMultipartUpload is only sent later in the background, so `put` would reject with
 * the upload still open. Instead the signal fails the body stream; lib-storage's error path
 * waits for in-flight parts, sends AbortMultipartUpload, and only then rejects.
 */
async function putObject(ctx: S3Context, key: string, body: Readable, options: PutOptions): Promise<{ size: number }> {
  assertValidKey(key);
  const { signal } = options;
  const counted = countedBody(body, signal);
  const upload = new Upload({
    client: ctx.client,
    params: {
      Bucket: ctx.bucket,
      Key: ctx.keyPrefix + key,
      Body: counted.stream,
      ContentType: options.contentType ?? 'application/octet-stream',
      ServerSideEncryption: ctx.serverSideEncryption,
      // SHA256 here makes the SDK send x-amz-checksum-sha256 with each buffered part (a header,
      // not aws-chunked) and list the parts' checksums when completing the upload.
      ...(ctx.checksum === 'sha256' ? { ChecksumAlgorithm: 'SHA256' as const } : {}),
    },
    partSize: ctx.partSize,
    queueSize: ctx.queueSize,
    leavePartsOnError: false,
  });
  try {
    await (options.onRetry ? retryListener.run(options.onRetry, () => upload.done()) : upload.done());
    return { size: counted.bytes() };
  } catch (err) {
    counted.stream.destroy();
    await abortLeftoverUpload(ctx, ctx.keyPrefix + key, upload.uploadId);
    // The provider's own error wins over the abort it made the caller send (src/failure.ts).
    if (isAbortError(err) || (signal?.aborted && isConsequence(err))) {
      throw new BantayError(ErrorCode.Aborted, `put ${key}: aborted`, { cause: err });
    }
    throw wrapError(ErrorCode.Storage, `S3 put ${key}`, err);
  } finally {
    counted.release();
  }
}

/**
 * `body` piped through a byte counter. Errors of `body` reach the counter (and so the upload);
 * destroying the counter destroys `body`. Aborting `signal` destroys it with an AbortError.
 */
function countedBody(body: Readable, signal: AbortSignal | undefined): { stream: Transform; bytes(): number; release(): void } {
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      callback(null, chunk);
    },
  });
  pipeline(body, stream, () => undefined);
  const onAbort = (): void => {
    stream.destroy(Object.assign(new Error('put aborted'), { name: 'AbortError', cause: signal?.reason }));
  };
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  return { stream, bytes: () => size, release: () => signal?.removeEventListener('abort', onAbort) };
}

/**
 * lib-storage aborts the multipart upload on failure; this repeats it so no upload stays open
 * (and keeps accruing storage cost) even if that abort itself failed. NoSuchUpload means it is
 * already gone. A failure here is secondary to the put's own error, so it is not thrown.
 */
async function abortLeftoverUpload(ctx: S3Context, fullKey: string, uploadId: string | undefined): Promise<void> {
  if (!uploadId) return;
  await ctx.client
    .send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: fullKey, UploadId: uploadId }))
    .catch(() => undefined);
}

/** GetObject; a body that breaks mid-way is resumed with Range requests (s3-read.ts). */
async function getObject(ctx: S3Context, key: string, options: GetOptions): Promise<Readable> {
  assertValidKey(key);
  try {
    const command = new GetObjectCommand({ Bucket: ctx.bucket, Key: ctx.keyPrefix + key });
    const response = await ctx.client.send(command, { abortSignal: options.signal });
    const body = response.Body;
    if (!(body instanceof Readable)) throw new Error('response body is not a Node.js stream');
    const stream = await getResumable({ client: ctx.client, bucket: ctx.bucket, fullKey: ctx.keyPrefix + key, key, signal: options.signal, onRetry: options.onRetry }, response);
    return options.signal ? addAbortSignal(options.signal, stream) : stream;
  } catch (err) {
    if (isNotFound(err)) throw new BantayError(ErrorCode.NotFound, `Object ${key} not found in s3://${ctx.bucket}/${ctx.keyPrefix}`);
    if (options.signal?.aborted) throw new BantayError(ErrorCode.Aborted, `get ${key}: aborted`, { cause: err });
    throw wrapError(ErrorCode.Storage, `S3 get ${key}`, err);
  }
}

async function statObject(ctx: S3Context, key: string): Promise<ObjectInfo | undefined> {
  assertValidKey(key);
  try {
    const head = await ctx.client.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: ctx.keyPrefix + key }));
    return { key, size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw wrapError(ErrorCode.Storage, `S3 stat ${key}`, err);
  }
}

/**
 * Pages through ListObjectsV2. S3 lists keys in UTF-8 byte order, which for Bantay's ASCII keys
 * is plain string order; a server that does not is reported instead of silently breaking callers
 * that rely on the order. Keys that are not valid Bantay keys (e.g. "folder/" markers made by
 * consoles) are skipped, like foreign files in a local store.
 */
async function* listObjects(ctx: S3Context, prefix: string): AsyncGenerator<ObjectInfo> {
  assertValidPrefix(prefix);
  let continuationToken: string | undefined;
  let previous: string | undefined;
  do {
    const page = await ctx.client
      .send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: ctx.keyPrefix + prefix, ContinuationToken: continuationToken }))
      .catch((err: unknown) => {
        throw wrapError(ErrorCode.Storage, `S3 list ${ctx.keyPrefix}${prefix}`, err);
      });
    for (const object of page.Contents ?? []) {
      const key = object.Key?.slice(ctx.keyPrefix.length);
      if (key === undefined || !object.Key?.startsWith(ctx.keyPrefix) || !isValidKey(key)) continue;
      if (previous !== undefined && key <= previous) {
        throw new BantayError(ErrorCode.Storage, `S3 list ${ctx.keyPrefix}${prefix}: server returned keys out of order (${previous}, then ${key})`);
      }
      previous = key;
      yield { key, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) };
    }
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken);
}

async function deleteObject(ctx: S3Context, key: string): Promise<void> {
  assertValidKey(key);
  try {
    // S3 answers 204 for missing keys too, so this is idempotent without a HeadObject first.
    await ctx.client.send(new DeleteObjectCommand({ Bucket: ctx.bucket, Key: ctx.keyPrefix + key }));
  } catch (err) {
    if (isNotFound(err)) return;
    throw wrapError(ErrorCode.Storage, `S3 delete ${key}`, err);
  }
}

/** GetObject fails with NoSuchKey; HeadObject has no body and fails with NotFound / 404. */
function isNotFound(err: unknown): boolean {
  const e = err as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } } | null;
  if (e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.Code === 'NoSuchKey') return true;
  return e?.$metadata?.httpStatusCode === 404 && e?.name !== 'NoSuchBucket';
}
