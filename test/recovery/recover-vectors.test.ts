import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignatureV4 } from '@smithy/signature-v4';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { connectS3TestServer, createTestBucket, TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../support/s3-server.ts';
import { createS3Store } from '../../src/storage/s3-store.ts';
import { Readable } from 'node:stream';
import { installTool, putFile, runRecover } from '../support/recover-tool.ts';
import { tempDir } from '../support/job-deps.ts';

/**
 * The recovery tool against the known-answer vectors of independent implementations
 * (Python): the format-1 stream of docs/encryption-format.md (the same bytes as
 * test/crypto/format-vector.test.ts) and docs/vectors/format2.json (authenticated record,
 * version-2 stream bound to its object key). If one fails, the tool disagrees with the format.
 */
const V1_STREAM =
  '42414e54415900450100000010376665303463333938613432346432306465666768696a6b6c6d6e6f70717273747576' +
  '7778797a7b7c7d7e7f80818283c8c9cacbcccdce8da2e7c83643aaf187517bc1dd0d00240d85e5f66d9394f1d2418335' +
  '33452ba1cf2b2fd8b3aa1b6ecf1a19f1d286d0b647d5def3a0d84794b1ae8c30485a7c4cf9882c577d50cbde6d51966a' +
  '7113848468ab364272fa95075d74ef774c3c6013';
const V1_PLAINTEXT = 'Bantay test vector: 40 bytes of text!!!!';

interface Format2 {
  masterKeyBase64: string;
  keyId: string;
  record: { objectKey: string; value: Record<string, unknown>; canonical: string; auth: Record<string, unknown> };
  streamV2: { objectKey: string; plaintextHex: string; streamHex: string };
}
const VECTORS = JSON.parse(readFileSync(new URL('../../docs/vectors/format2.json', import.meta.url), 'utf8')) as Format2;
const KEY_ENV = { BANTAY_ENCRYPTION_KEY: VECTORS.masterKeyBase64 };
const RECORD_ID = 'db-20261126T020000Z-7f3a';

let kit: string;
beforeAll(() => {
  kit = installTool();
});

function storeWith(objects: Record<string, Buffer | string>): string {
  const dir = tempDir('bantay-vec-');
  for (const [key, bytes] of Object.entries(objects)) putFile(dir, key, bytes);
  return dir;
}

const signedRecord = (value = VECTORS.record.value) => JSON.stringify({ ...value, auth: VECTORS.record.auth }, null, 2) + '\n';

async function listed(store: string, env: Record<string, string> = KEY_ENV) {
  const r = await runRecover(['list', '--json'], { BANTAY_STORE: store, ...env }, kit);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.toString()) as Array<{ id: string; status: string; reasons: string[] }>;
}

describe('bantay-recover.mjs against the known-answer vectors', () => {
  it('the key fingerprint is the vector key id', async () => {
    const r = await runRecover(['keys'], KEY_ENV, kit);
    expect(r.stdout.toString().trim()).toBe(VECTORS.keyId);
  });

  it('decrypts the format-1 stream of encryption-format.md, reporting it as not bound', async () => {
    const key = 'backups/db-20261126T020000Z-7f3a/database.dump.enc';
    const store = storeWith({ [key]: Buffer.from(V1_STREAM, 'hex') });
    const r = await runRecover(['decrypt-object', key], { BANTAY_STORE: store, BANTAY_ENCRYPTION_KEY: Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64') }, kit);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString('latin1')).toBe(V1_PLAINTEXT);
    expect(r.stderr).toContain('encryption format 1, not bound');
  });

  it('decrypts the version-2 stream at its object key, and refuses it under any other key', async () => {
    const { objectKey, streamHex, plaintextHex } = VECTORS.streamV2;
    const moved = 'backups/db-20261127T020000Z-0000/database.dump.enc';
    const store = storeWith({ [objectKey]: Buffer.from(streamHex, 'hex'), [moved]: Buffer.from(streamHex, 'hex') });
    const ok = await runRecover(['decrypt-object', objectKey], { BANTAY_STORE: store, ...KEY_ENV }, kit);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.toString('hex')).toBe(plaintextHex);
    const bad = await runRecover(['decrypt-object', moved], { BANTAY_STORE: store, ...KEY_ENV }, kit);
    expect(bad.code).toBe(1);
    expect(bad.stdout.length).toBe(0);
    expect(bad.stderr).toMatch(/authentication failed at chunk 0/);
  });

  it('authenticates the vector record and lists it as authenticated', async () => {
    const store = storeWith({ [VECTORS.record.objectKey]: signedRecord() });
    expect(await listed(store)).toMatchObject([{ id: RECORD_ID, status: 'authenticated', reasons: [] }]);
  });

  it('rejects the record when any field changes, when it is moved, or under another key', async () => {
    const changed = storeWith({ [VECTORS.record.objectKey]: signedRecord({ ...VECTORS.record.value, tables: { 'public.sales': 1201 } }) });
    expect((await listed(changed))[0]).toMatchObject({ status: 'rejected', reasons: [expect.stringMatching(/does not verify/)] });
    // Same bytes under another backup's name (with the id inside rewritten to match its place).
    const otherId = 'db-20261126T020000Z-7f3b';
    const moved = storeWith({ [`backups/${otherId}/manifest.json`]: signedRecord({ ...VECTORS.record.value, id: otherId, artifact: { ...(VECTORS.record.value.artifact as object), key: `backups/${otherId}/database.dump.enc` } }) });
    expect((await listed(moved))[0]).toMatchObject({ id: otherId, status: 'rejected' });
    const otherKey = await listed(storeWith({ [VECTORS.record.objectKey]: signedRecord() }), { BANTAY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(otherKey[0]).toMatchObject({ status: 'rejected', reasons: [expect.stringMatching(/k1:7fe04c398a424d20, which is not configured/)] });
    // Without a key nothing is authenticated, and the listing says so.
    const none = await runRecover(['list'], { BANTAY_STORE: storeWith({ [VECTORS.record.objectKey]: signedRecord() }) }, kit);
    expect(none.stderr).toContain('authenticity cannot be checked: no encryption key configured');
  });

  it('rejects unencrypted artifacts, artifacts outside the backup, future records and untagged format-2 records', async () => {
    const { auth: _a, ...plain } = { ...VECTORS.record.value, auth: undefined };
    const untagged = storeWith({ [VECTORS.record.objectKey]: JSON.stringify(plain) });
    expect((await listed(untagged))[0]).toMatchObject({ status: 'rejected', reasons: ['it carries no auth tag'] });
    const legacy = (fields: Record<string, unknown>) => JSON.stringify({ ...VECTORS.record.value, formatVersion: 1, ...fields });
    const artifact = VECTORS.record.value.artifact as Record<string, unknown>;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ artifact: { ...artifact, encryption: null } }, /artifact database.dump is not encrypted/],
      [{ artifact: { ...artifact, key: 'backups/db-20261125T020000Z-aaaa/database.dump.enc' } }, /outside backups\/db-20261126T020000Z-7f3a\//],
      [{ createdAt: new Date(Date.now() + 3600_000).toISOString() }, /in the future/],
    ];
    for (const [fields, reason] of cases) {
      const entry = (await listed(storeWith({ [VECTORS.record.objectKey]: legacy(fields) })))[0]!;
      expect(entry.status).toBe('rejected');
      expect(entry.reasons.join('; ')).toMatch(reason);
    }
    // A plain legacy record (format 1, no auth, encrypted with a configured key) stays usable.
    expect((await listed(storeWith({ [VECTORS.record.objectKey]: legacy({}) })))[0]).toMatchObject({ status: 'legacy' });
  });
});

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** node:crypto behind the hash interface @smithy/signature-v4 expects. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

describe('bantay-recover.mjs signs S3 requests (SigV4) as the AWS SDK signer does', () => {
  it('every recorded request carries the signature @smithy/signature-v4 computes for it', async () => {
    const endpoint = inject('s3Endpoint');
    const server = connectS3TestServer(endpoint);
    const bucket = await createTestBucket(endpoint);
    const store = createS3Store({ bucket, prefix: 'p/q', endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS });
    const key = VECTORS.streamV2.objectKey;
    await store.put(key, Readable.from([Buffer.from(VECTORS.streamV2.streamHex, 'hex')]));
    const env = { BANTAY_STORE: `s3://${bucket}/p/q`, S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', AWS_SESSION_TOKEN: 'token/with+chars=', ...KEY_ENV };
    expect((await runRecover(['list'], env, kit)).code).toBe(0);
    const fetched = await runRecover(['decrypt-object', key], env, kit);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout.toString('hex')).toBe(VECTORS.streamV2.plaintextHex);
    const requests = (await server.requests(bucket)).filter((q) => q.headers.authorization?.includes('AKIDEXAMPLE'));
    expect(requests.map((q) => q.method + ' ' + q.url.split('?')[0])).toEqual([`GET /${bucket}`, `GET /${bucket}/p/q/${key}`]);
    const signer = new SignatureV4({ credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
    const url = new URL(endpoint);
    for (const q of requests) {
      const [path, search = ''] = q.url.split('?');
      const query = Object.fromEntries(new URLSearchParams(search));
      const stamp = q.headers['x-amz-date']!;
      const signingDate = new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`);
      const signed = await signer.sign(
        {
          method: q.method,
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: decodeURIComponent(path!),
          query,
          headers: { host: q.headers.host!, 'x-amz-content-sha256': q.headers['x-amz-content-sha256']!, 'x-amz-date': stamp, 'x-amz-security-token': env.AWS_SESSION_TOKEN },
        },
        { signingDate },
      );
      expect(q.headers.authorization).toBe(signed.headers.authorization);
    }
    expect(createHash('sha256').update('').digest('hex')).toBe(requests[0]!.headers['x-amz-content-sha256']);
  });
});
