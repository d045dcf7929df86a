import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** Any access key and secret work: fauxqs does not check signatures. */
export const TEST_S3_CREDENTIALS = { accessKeyId: 'bantay-test', secretAccessKey: 'bantay-test-secret' };
export const TEST_S3_REGION = 'us-east-1';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

export interface UploadPartFault {
  /** Only UploadPart requests into this bucket fail, so parallel tests are unaffected. */
  bucket: string;
  /** This many UploadPart requests succeed; every later one (retries included) fails. */
  afterParts: number;
  /** Answer HTTP 500 InternalError, or destroy the connection without an answer. */
  mode: 'status-500' | 'drop-connection';
}

/**
 * An S3-compatible server (fauxqs, in a child process) for tests, with test-only inspection and
 * fault injection. Every `bucket` filter is optional and narrows the answer to one bucket.
 */
export interface S3TestServer {
  /** http://127.0.0.1:PORT; use path-style addressing. */
  endpoint: string;
  stop(): Promise<void>;
  /** Multipart uploads created but neither completed nor aborted. */
  openMultipartUploads(bucket?: string): Promise<number>;
  /** Headers (lower-case names) of every PUT and POST received since the last reset. */
  requestHeaders(bucket?: string): Promise<Array<Record<string, string>>>;
  /** Method, URL and headers of every S3 request received since the last reset. */
  requests(bucket?: string): Promise<RecordedRequest[]>;
  resetRecording(): Promise<void>;
  failUploadParts(fault: UploadPartFault): Promise<void>;
  clearFaults(): Promise<void>;
}

const PROCESS_SCRIPT = fileURLToPath(new URL('./s3-server-process.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 30_000;

export async function startS3TestServer(): Promise<S3TestServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', PROCESS_SCRIPT], {
    cwd: PROJECT_ROOT,
    // stdin stays open as a lifeline: the server exits when this process goes away.
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await readPort(child);
  return connectS3TestServer(`http://127.0.0.1:${port}`, () => stopChild(child));
}

/**
 * The test-only API of a server started elsewhere (e.g. the shared one from global-setup,
 * whose endpoint tests get via `inject('s3Endpoint')`). `stop` defaults to doing nothing.
 */
export function connectS3TestServer(endpoint: string, stop: () => Promise<void> = async () => undefined): S3TestServer {
  const call = async <T>(method: string, path: string, query: Record<string, string | undefined> = {}): Promise<T> => {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
    const response = await fetch(`${endpoint}/__bantay_test/${path}?${params}`, { method });
    if (!response.ok) throw new Error(`S3 test server ${method} ${path}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  return {
    endpoint,
    stop,
    openMultipartUploads: async (bucket) => (await call<{ count: number }>('GET', 'multipart-uploads', { bucket })).count,
    requests: (bucket) => call<RecordedRequest[]>('GET', 'requests', { bucket }),
    requestHeaders: async (bucket) =>
      (await call<RecordedRequest[]>('GET', 'requests', { bucket }))
        .filter((r) => r.method === 'PUT' || r.method === 'POST')
        .map((r) => r.headers),
    resetRecording: async () => void (await call('POST', 'reset-recording')),
    failUploadParts: async ({ bucket, afterParts, mode }) =>
      void (await call('POST', 'faults', { bucket, afterParts: String(afterParts), mode })),
    clearFaults: async () => void (await call('DELETE', 'faults')),
  };
}

/** Creates a bucket with a unique name on the test server and returns its name. */
export async function createTestBucket(endpoint: string): Promise<string> {
  const bucket = `bantay-test-${randomBytes(6).toString('hex')}`;
  const client = new S3Client({ endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}

function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error('S3 test server did not start in time')), START_TIMEOUT_MS);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`S3 test server exited early (code ${code}, signal ${signal})`)));
    child.stdout?.on('data', (data: Buffer) => {
      output += data.toString('utf8');
      const match = /PORT=(\d+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.removeListener('error', fail);
      resolve(Number(match[1]));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
