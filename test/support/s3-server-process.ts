/**
 * Child process behind test/support/s3-server.ts: the fauxqs S3 emulator plus test-only routes
 * under /__bantay_test/ (a path S3 never uses; static routes win over fauxqs' /:bucket/*).
 *
 * Run with `node --import tsx test/support/s3-server-process.ts`. Listens on 127.0.0.1, port 0,
 * prints "PORT=<n>" on stdout, exits on SIGTERM/SIGINT or when its parent closes stdin.
 * fauxqs checks no signatures, so any access key / secret is accepted.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { buildApp } from 'fauxqs';

interface ListOptions {
  prefix?: string;
  delimiter?: string;
  maxKeys?: number;
  startAfter?: string;
  marker?: string;
}
/** The parts of fauxqs' (unexported) S3Store this process uses. */
interface S3StoreLike {
  multipartUploads: Map<string, { bucket: string; key: string; uploadId: string; initiated: Date }>;
  listObjects(bucket: string, options?: ListOptions): unknown;
}
interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}
interface Fault {
  bucket: string;
  afterParts: number;
  mode: 'status-500' | 'drop-connection';
  seenParts: number;
}

const MAX_RECORDED = 20_000;
const recorded: RecordedRequest[] = [];
let fault: Fault | undefined;

// fauxqs' package "exports" only exposes the entry point; its store classes are imported by
// file URL (which bypasses "exports") so this process holds the S3Store the app serves from.
const appUrl = import.meta.resolve('fauxqs');
const { S3Store } = await import(new URL('./s3/s3Store.js', appUrl).href);
const { SqsStore } = await import(new URL('./sqs/sqsStore.js', appUrl).href);
const { SnsStore } = await import(new URL('./sns/snsStore.js', appUrl).href);
const s3Store = new S3Store() as S3StoreLike;
useByteOrderListing(s3Store);

const app = buildApp({ logger: false, stores: { s3Store, sqsStore: new SqsStore(), snsStore: new SnsStore() } as never });
app.addHook('onRequest', async (request) => {
  if (request.url.startsWith('/__bantay_test/')) return;
  if (recorded.length >= MAX_RECORDED) recorded.shift();
  recorded.push({ method: request.method, url: request.url, headers: flattenHeaders(request.headers) });
});
app.addHook('preHandler', injectFault);
app.addHook('preHandler', listMultipartUploads);
registerTestRoutes();

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`PORT=${new URL(address).port}\n`);

const shutdown = (): void => {
  void app.close().finally(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown).on('close', shutdown).resume();

function registerTestRoutes(): void {
  app.get('/__bantay_test/multipart-uploads', async (request) => {
    const bucket = queryOf(request)['bucket'];
    const uploads = [...s3Store.multipartUploads.values()].filter((u) => bucket === undefined || u.bucket === bucket);
    return { count: uploads.length };
  });
  app.get('/__bantay_test/requests', async (request) => {
    const bucket = queryOf(request)['bucket'];
    return recorded.filter((r) => bucket === undefined || r.url === `/${bucket}` || r.url.startsWith(`/${bucket}/`) || r.url.startsWith(`/${bucket}?`));
  });
  app.post('/__bantay_test/reset-recording', async () => {
    recorded.length = 0;
    return { ok: true };
  });
  app.post('/__bantay_test/faults', async (request, reply) => {
    const query = queryOf(request);
    const afterParts = Number(query['afterParts']);
    const mode = query['mode'];
    if (!query['bucket'] || !Number.isInteger(afterParts) || (mode !== 'status-500' && mode !== 'drop-connection')) {
      return reply.code(400).send({ error: 'need bucket, afterParts and mode=status-500|drop-connection' });
    }
    fault = { bucket: query['bucket'], afterParts, mode, seenParts: 0 };
    return { ok: true };
  });
  app.delete('/__bantay_test/faults', async () => {
    fault = undefined;
    return { ok: true };
  });
}

/**
 * ListMultipartUploads (GET /bucket?uploads&prefix=…), which fauxqs lacks: the open uploads of
 * the bucket under the prefix, in one page, as S3 answers it. Real providers page with
 * KeyMarker/UploadIdMarker; Bantay's client follows those when IsTruncated is true.
 */
async function listMultipartUploads(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const query = queryOf(request);
  const bucket = /^\/([^/?]+)\/?(\?|$)/.exec(request.url)?.[1];
  if (request.method !== 'GET' || bucket === undefined || !('uploads' in query)) return;
  const prefix = query['prefix'] ?? '';
  const escapeXml = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const uploads = [...s3Store.multipartUploads.values()]
    .filter((u) => u.bucket === bucket && u.key.startsWith(prefix))
    .map((u) => `<Upload><Key>${escapeXml(u.key)}</Key><UploadId>${escapeXml(u.uploadId)}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated></Upload>`);
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Bucket>${escapeXml(bucket)}</Bucket><Prefix>${escapeXml(prefix)}</Prefix><IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`;
  await reply.code(200).header('content-type', 'application/xml').send(xml);
}

/** UploadPart (PUT with uploadId and partNumber) into the faulty bucket fails after N parts. */
async function injectFault(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const query = queryOf(request);
  if (!fault || request.method !== 'PUT' || !query['uploadId'] || !query['partNumber']) return;
  if (!request.url.startsWith(`/${fault.bucket}/`)) return;
  fault.seenParts += 1;
  if (fault.seenParts <= fault.afterParts) return;
  if (fault.mode === 'drop-connection') {
    reply.hijack();
    request.raw.socket.destroy();
    return;
  }
  const xml = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected fault</Message></Error>';
  await reply.code(500).header('content-type', 'application/xml').send(xml);
}

/**
 * fauxqs sorts listings with localeCompare ("a/a" < "a/B" < "a/b"; "_" < "-" < ".") but pages
 * with plain `<=` comparisons. Real S3 lists in UTF-8 byte order, so its (synchronous) listing
 * runs with localeCompare comparing code units, which for ASCII keys is that byte order.
 */
function useByteOrderListing(store: S3StoreLike): void {
  const original = store.listObjects.bind(store);
  store.listObjects = (bucket: string, options?: ListOptions) => withByteOrderCompare(() => original(bucket, options));
}

/** Runs `fn` with String#localeCompare comparing by code unit (this process only serves tests). */
function withByteOrderCompare<T>(fn: () => T): T {
  const localeCompare = String.prototype.localeCompare;
  String.prototype.localeCompare = function (this: string, other: string): number {
    return this < other ? -1 : this > other ? 1 : 0;
  };
  try {
    return fn();
  } finally {
    String.prototype.localeCompare = localeCompare;
  }
}

function queryOf(request: FastifyRequest): Record<string, string | undefined> {
  return (request.query ?? {}) as Record<string, string | undefined>;
}

function flattenHeaders(headers: FastifyRequest['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return flat;
}
