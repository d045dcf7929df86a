import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoreLocation } from '../storage/open-store.ts';
import type { RawEnv } from './schema.ts';

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._=/-]*$/;

export type { Problem } from './problem.ts';
import type { Problem } from './problem.ts';

/**
 * Turns BANTAY_STORE (a directory path, a file:// URL or s3://bucket/prefix) plus the S3_* and
 * AWS_* variables into a StoreLocation. Pushes problems instead of throwing so the caller can
 * report every configuration problem at once.
 */
export function parseStoreLocation(
  value: string,
  env: RawEnv,
  cwd: string,
  problems: Problem[],
  variable = 'BANTAY_STORE',
): StoreLocation | undefined {
  if (value.startsWith('s3://')) return parseS3Location(value, env, problems, variable);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !value.startsWith('file://')) {
    problems.push({ variable, message: 'must be a directory path, a file:// URL or s3://bucket/prefix' });
    return undefined;
  }
  let dir: string;
  try {
    dir = value.startsWith('file://') ? fileURLToPath(value) : value;
  } catch {
    problems.push({ variable, message: 'is not a valid file:// URL (use file:///absolute/path)' });
    return undefined;
  }
  return { type: 'local', dir: isAbsolute(dir) ? dir : resolve(cwd, dir) };
}

function parseS3Location(value: string, env: RawEnv, problems: Problem[], variable: string): StoreLocation | undefined {
  const rest = value.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const prefix = (slash === -1 ? '' : rest.slice(slash + 1)).replace(/\/+$/, '');
  let ok = true;
  if (!BUCKET.test(bucket)) {
    problems.push({ variable, message: 'has an invalid bucket name (3-63 lowercase letters, digits, dots, hyphens)' });
    ok = false;
  }
  if (prefix !== '' && (!PREFIX.test(prefix) || prefix.split('/').some((s) => s === '' || s === '.' || s === '..'))) {
    problems.push({ variable, message: 'has an invalid prefix (letters, digits, . _ = - and single slashes; no . or .. segments)' });
    ok = false;
  }
  if (env.S3_ENDPOINT !== undefined && !/^https?:\/\/[^\s/@]+(:\d+)?(\/.*)?$/.test(env.S3_ENDPOINT)) {
    problems.push({ variable: 'S3_ENDPOINT', message: 'must be an http:// or https:// URL without credentials' });
    ok = false;
  }
  if ((env.AWS_ACCESS_KEY_ID === undefined) !== (env.AWS_SECRET_ACCESS_KEY === undefined)) {
    problems.push({
      variable: env.AWS_ACCESS_KEY_ID === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY',
      message: 'must be set together with the other half of the key pair',
    });
    ok = false;
  }
  if (!ok) return undefined;
  return {
    type: 's3',
    bucket,
    prefix,
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION ?? 'us-east-1',
    // Path-style addressing is what MinIO, Ceph, Garage and most non-AWS providers expect.
    forcePathStyle: env.S3_FORCE_PATH_STYLE ?? env.S3_ENDPOINT !== undefined,
    credentials:
      env.AWS_ACCESS_KEY_ID !== undefined && env.AWS_SECRET_ACCESS_KEY !== undefined
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
        : undefined,
    serverSideEncryption: env.S3_SSE === 'AES256' ? 'AES256' : undefined,
    partSizeBytes: env.S3_PART_SIZE_MB * 1024 * 1024,
    queueSize: env.S3_QUEUE_SIZE,
    checksum: env.BANTAY_S3_CHECKSUM === 'sha256' ? 'sha256' : 'md5',
    idleTimeoutMs: env.S3_IDLE_TIMEOUT * 1000,
  };
}
