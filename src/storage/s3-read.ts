import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { BantayError, ErrorCode, wrapError } from '../errors.ts';

export interface ResumableGet {
  client: S3Client;
  bucket: string;
  /** The full key, prefix included. */
  fullKey: string;
  /** The key as callers know it, for messages. */
  key: string;
  signal?: AbortSignal;
  /** Retries after the first response, for failures mid-body; default 4. */
  retries?: number;
  onRetry?: (message: string) => void;
}

/**
 * The body of an object as one continuous stream, resumed after transient failures mid-body.
 *
 * The SDK retries a request that fails before its response arrives; nothing retries a body that
 * breaks half-way (a connection reset, a stall cut by the idle timeout, a proxy closing early).
 * Here each such failure, and a body that ends before Content-Length bytes, is followed (with
 * backoff) by a GET with `Range: bytes=<next byte>-` and `If-Match: <ETag>`, so the rest comes
 * from the very same object version. A provider that ignores Range answers 200 with the whole
 * object; its first bytes are skipped. The consumer sees every byte exactly once, in order, so
 * the digests computed above this layer still cover the whole object; when the retries run out
 * the stream errors with BantayError(STORAGE), never ends short.
 */
export async function getResumable(options: ResumableGet, first: GetObjectCommandOutput): Promise<Readable> {
  const total = first.ContentLength;
  const etag = first.ETag;
  const maxRetries = options.retries ?? 4;
  async function* chunks(): AsyncGenerator<Buffer> {
    let body = first.Body as Readable;
    let offset = 0;
    let skip = 0;
    let retries = 0;
    for (;;) {
      try {
        for await (const raw of body) {
          let chunk = raw as Buffer;
          if (skip > 0) {
            const dropped = Math.min(skip, chunk.length);
            skip -= dropped;
            chunk = chunk.subarray(dropped);
            if (chunk.length === 0) continue;
          }
          offset += chunk.length;
          retries = 0; // progress was made: the budget is for consecutive failures
          yield chunk;
        }
        if (total === undefined || offset >= total) return;
        throw Object.assign(new Error(`the connection closed after ${offset} of ${total} bytes`), { code: 'ECONNRESET' });
      } catch (err) {
        body.destroy();
        if (options.signal?.aborted) throw new BantayError(ErrorCode.Aborted, `get ${options.key}: aborted`, { cause: err });
        if (!isTransientReadError(err) || retries >= maxRetries) {
          throw wrapError(ErrorCode.Storage, `S3 get ${options.key} (read ${offset} of ${total ?? '?'} bytes, ${retries} resumption(s) tried)`, err);
        }
        retries += 1;
        const waitMs = Math.min(8000, 250 * 2 ** (retries - 1));
        const reason = err instanceof Error ? err.message : String(err);
        options.onRetry?.(`Reading ${options.key} broke off at byte ${offset} (${reason}); resuming in ${(waitMs / 1000).toFixed(1)} s (attempt ${retries} of ${maxRetries})`);
        await sleep(waitMs, undefined, { signal: options.signal }).catch((e: unknown) => {
          throw new BantayError(ErrorCode.Aborted, `get ${options.key}: aborted`, { cause: e });
        });
        const next = await resume(options, offset, etag).catch((e: unknown) => {
          throw wrapError(ErrorCode.Storage, `S3 get ${options.key} (resuming at byte ${offset})`, e);
        });
        body = next.body;
        skip = next.skip;
      }
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

async function resume(options: ResumableGet, offset: number, etag: string | undefined): Promise<{ body: Readable; skip: number }> {
  const response = await options.client.send(
    new GetObjectCommand({ Bucket: options.bucket, Key: options.fullKey, Range: `bytes=${offset}-`, IfMatch: etag }),
    { abortSignal: options.signal },
  );
  if (!(response.Body instanceof Readable)) throw new Error('response body is not a Node.js stream');
  const range = /^bytes (\d+)-/.exec(response.ContentRange ?? '');
  if (range) {
    if (Number(range[1]) !== offset) throw new Error(`the provider resumed at byte ${range[1]} instead of ${offset}`);
    return { body: response.Body, skip: 0 };
  }
  // No Content-Range: the whole object again (a provider without Range support).
  return { body: response.Body, skip: offset };
}

/** Failures of the connection or the provider that a new request may not meet again. */
export function isTransientReadError(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; $metadata?: { httpStatusCode?: number }; message?: unknown } | null;
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 408 || status === 429;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNREFUSED', 'ECONNABORTED', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET'].includes(code)) return true;
  if (e?.name === 'TimeoutError') return true;
  return /aborted|socket hang up|timed? ?out|premature close|ECONNRESET/i.test(typeof e?.message === 'string' ? e.message : '');
}
