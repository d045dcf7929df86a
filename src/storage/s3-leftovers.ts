import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { wrapError, ErrorCode } from '../errors.ts';
import type { Leftover, LeftoverCleaner } from './leftovers.ts';

/**
 * Incomplete multipart uploads under the store's prefix (a backup killed mid-upload leaves one;
 * the provider bills its parts until it is aborted). Listed with ListMultipartUploads, paged by
 * KeyMarker/UploadIdMarker. A provider without that call (NotImplemented, 501, 405) yields
 * nothing: there the bucket lifecycle rule the README recommends is the only cleanup.
 */
export function s3LeftoverCleaner(ctx: { client: S3Client; bucket: string; keyPrefix: string }): LeftoverCleaner {
  return {
    async *listLeftovers(): AsyncGenerator<Leftover> {
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      for (;;) {
        let page;
        try {
          page = await ctx.client.send(
            new ListMultipartUploadsCommand({ Bucket: ctx.bucket, Prefix: ctx.keyPrefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
          );
        } catch (err) {
          if (isUnsupported(err)) return;
          throw wrapError(ErrorCode.Storage, `S3 list multipart uploads under ${ctx.keyPrefix || '(bucket root)'}`, err);
        }
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key?.startsWith(ctx.keyPrefix) || !upload.UploadId) continue;
          yield { kind: 'multipart-upload', key: upload.Key.slice(ctx.keyPrefix.length), since: upload.Initiated ?? new Date(0), handle: `${upload.UploadId} ${upload.Key}` };
        }
        if (!page.IsTruncated) return;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
        if (keyMarker === undefined) return;
      }
    },
    async removeLeftover(leftover: Leftover): Promise<void> {
      const space = leftover.handle.indexOf(' ');
      const uploadId = leftover.handle.slice(0, space);
      const fullKey = leftover.handle.slice(space + 1);
      try {
        await ctx.client.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: fullKey, UploadId: uploadId }));
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === 'NoSuchUpload' || e.$metadata?.httpStatusCode === 404) return;
        throw wrapError(ErrorCode.Storage, `S3 abort multipart upload of ${leftover.key}`, err);
      }
    },
  };
}

function isUnsupported(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotImplemented' || e.Code === 'NotImplemented' || e.$metadata?.httpStatusCode === 501 || e.$metadata?.httpStatusCode === 405;
}
