import { createHash } from 'node:crypto';
import type { BuildMiddleware, MetadataBearer, Pluggable } from '@smithy/types';
import { BantayError, ErrorCode } from '../errors.ts';

/**
 * End-to-end upload integrity for S3: the bytes the provider stores are the bytes Bantay sent.
 *
 * Every PutObject and UploadPart request carries a digest of its body that the provider must
 * check before storing anything: Content-MD5 (mode "md5", the default: every S3-compatible
 * provider knows it) or x-amz-checksum-sha256 (mode "sha256"; set through the command's
 * ChecksumAlgorithm so the SDK also puts each part's checksum into CompleteMultipartUpload).
 * Some providers reject one or the other, hence the setting (BANTAY_S3_CHECKSUM).
 *
 * Not every provider checks what it is sent (the S3 test server, fauxqs, checks neither), so
 * the returned ETag is compared too: for a single PutObject or an UploadPart without SSE-KMS or
 * SSE-C it is the MD5 of the stored bytes. A mismatch fails the request, hence the upload (the
 * multipart upload is then aborted by the store), so a corrupted part can never be listed.
 *
 * The body is hashed as a buffer (lib-storage hands each part over as one); bodies are never
 * sent aws-chunked, the client keeps requestChecksumCalculation WHEN_REQUIRED.
 */
export type S3ChecksumMode = 'md5' | 'sha256';

const CHECKED_COMMANDS = new Set(['PutObjectCommand', 'UploadPartCommand']);

interface UploadOutput extends MetadataBearer {
  ETag?: string;
  ServerSideEncryption?: string;
  SSECustomerAlgorithm?: string;
}

function bodyBytes(body: unknown): Uint8Array | undefined {
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return undefined;
}

/** True when an ETag is the plain hex MD5 of the object or part (not KMS, SSE-C or composite). */
function plainMd5Etag(output: UploadOutput): string | undefined {
  const etag = output.ETag?.replace(/^"|"$/g, '').toLowerCase();
  if (etag === undefined || !/^[0-9a-f]{32}$/.test(etag)) return undefined;
  if (output.ServerSideEncryption?.startsWith('aws:kms') || output.SSECustomerAlgorithm) return undefined;
  return etag;
}

function integrityMiddleware(mode: S3ChecksumMode): BuildMiddleware<object, MetadataBearer> {
  return (next, context) => async (args) => {
    if (!CHECKED_COMMANDS.has(context.commandName ?? '')) return next(args);
    const request = args.request as { headers?: Record<string, string>; body?: unknown; query?: Record<string, unknown> };
    const bytes = bodyBytes(request.body);
    if (bytes === undefined || request.headers === undefined) {
      // A streamed body cannot be hashed up front; Bantay's uploads never send one.
      throw new BantayError(ErrorCode.Internal, `S3 upload integrity: ${context.commandName} body is not a buffer`);
    }
    const md5 = createHash('md5').update(bytes).digest();
    if (mode === 'md5') request.headers['content-md5'] = md5.toString('base64');
    const result = await next(args);
    const stored = plainMd5Etag(result.output as UploadOutput);
    const sent = md5.toString('hex');
    if (stored !== undefined && stored !== sent) {
      const part = request.query?.partNumber === undefined ? 'the object' : `part ${String(request.query.partNumber)}`;
      throw new BantayError(
        ErrorCode.Integrity,
        `The provider stored different bytes than Bantay sent for ${part} (ETag ${stored}, sent MD5 ${sent}): the data was corrupted on the way`,
      );
    }
    return result;
  };
}

/** The plugin for an S3Client: add with client.middlewareStack.use(...). */
export function uploadIntegrityPlugin(mode: S3ChecksumMode): Pluggable<object, MetadataBearer> {
  return {
    applyToStack(stack) {
      stack.add(integrityMiddleware(mode), { step: 'build', name: 'bantayUploadIntegrity', priority: 'low' });
    },
  };
}
