#!/usr/bin/env node
// bantay-recover.mjs: restores Bantay backups without Bantay.
//
// One file, plain JavaScript, Node.js >= 20 and its built-in modules only: copy it anywhere and
// run it with `node bantay-recover.mjs ...`, no npm install. It is a second, independent
// implementation of Bantay's documented formats (docs/encryption-format.md, docs/files-format.md,
// docs/catalog-authentication.md in the Bantay repository) and shares no code with Bantay, so a
// bug in one cannot silently hide in the other: Bantay's tests decrypt the same backups with both.
//
// It reads the same settings as Bantay, from the environment (and ./.env on Node >= 20.12):
//   BANTAY_STORE                 a directory, file:///dir or s3://bucket/prefix (default ./var/backups)
//   S3_ENDPOINT, S3_REGION, S3_FORCE_PATH_STYLE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//   AWS_SESSION_TOKEN            for s3:// stores (AWS_PROFILE / ~/.aws/credentials as a fallback)
//   BANTAY_ENCRYPTION_KEY or BANTAY_ENCRYPTION_KEY_FILE, BANTAY_DECRYPTION_KEYS (retired keys)
// Run `node bantay-recover.mjs help` for the commands. Exit codes: 0 ok, 1 failed, 2 usage or
// configuration error (wal-fetch: 1 not in the archive, 126 damaged, so PostgreSQL stops).
//
// Nothing is trusted before it is checked: manifests are authenticated (HMAC, format 2) when a
// key is configured, every artifact's stored bytes and plaintext are checked against the
// manifest's SHA-256 and size, and every encrypted chunk is authenticated before its plaintext
// is released. Output to a file goes to FILE.partial and is renamed only after every check
// passed; output to stdout is provisional until the command exits 0.

import { createDecipheriv, createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { constants as fsConstants, createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, symlink, chmod, utimes, lutimes, unlink } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip, createInflateRaw } from 'node:zlib';
import * as util from 'node:util';

const TOOL_VERSION = '1';

// ---------------------------------------------------------------------------------------------
// Errors: one class; `exit` is the process exit code, `message` is safe to print (never a key).

class RecoverError extends Error {
  constructor(code, message, details = []) {
    super(message);
    this.code = code;
    this.details = details;
  }
  get exit() {
    return this.code === 'USAGE' || this.code === 'CONFIG' ? 2 : 1;
  }
}
const fail = (code, message, details) => new RecoverError(code, message, details);
const integrity = (message) => fail('INTEGRITY', message);

// ---------------------------------------------------------------------------------------------
// Configuration: the same variables and meanings as Bantay's src/config/.

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._=/-]*$/;
const KEY_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._=-]{0,199}$/;

function readEnv(cwd) {
  const env = {};
  const file = join(cwd, '.env');
  if (existsSync(file)) {
    if (typeof util.parseEnv === 'function') Object.assign(env, util.parseEnv(readFileSync(file, 'utf8')));
    else warn('.env found but this Node.js cannot parse it (needs >= 20.12): export the variables instead');
  }
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  const out = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string' && v.trim() !== '') out[k] = v.trim();
  return out;
}

function parseFlag(value, name, problems) {
  if (value === undefined) return undefined;
  const s = value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  problems.push(`${name}: must be true or false`);
  return undefined;
}

function loadConfig(env, cwd) {
  const problems = [];
  const store = parseStore(env.BANTAY_STORE ?? './var/backups', env, cwd, problems);
  const keys = loadKeys(env, cwd, problems);
  if (problems.length > 0) throw fail('CONFIG', `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'})`, problems);
  return { store, keys };
}

function parseStore(value, env, cwd, problems) {
  if (value.startsWith('s3://')) {
    const rest = value.slice(5);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const prefix = (slash === -1 ? '' : rest.slice(slash + 1)).replace(/\/+$/, '');
    if (!BUCKET.test(bucket)) problems.push('BANTAY_STORE: has an invalid bucket name');
    if (prefix !== '' && (!PREFIX.test(prefix) || prefix.split('/').some((s) => s === '' || s === '.' || s === '..'))) problems.push('BANTAY_STORE: has an invalid prefix');
    if (env.S3_ENDPOINT !== undefined && !/^https?:\/\/[^\s/@]+(:\d+)?(\/.*)?$/.test(env.S3_ENDPOINT)) problems.push('S3_ENDPOINT: must be an http:// or https:// URL without credentials');
    if ((env.AWS_ACCESS_KEY_ID === undefined) !== (env.AWS_SECRET_ACCESS_KEY === undefined)) {
      problems.push(`${env.AWS_ACCESS_KEY_ID === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY'}: must be set together with the other half of the key pair`);
    }
    const forcePathStyle = parseFlag(env.S3_FORCE_PATH_STYLE, 'S3_FORCE_PATH_STYLE', problems);
    return {
      type: 's3',
      bucket,
      prefix,
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION ?? 'us-east-1',
      forcePathStyle: forcePathStyle ?? env.S3_ENDPOINT !== undefined,
      credentials: env.AWS_ACCESS_KEY_ID !== undefined && env.AWS_SECRET_ACCESS_KEY !== undefined
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
        : profileCredentials(env),
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !value.startsWith('file://')) {
    problems.push('BANTAY_STORE: must be a directory path, a file:// URL or s3://bucket/prefix');
    return undefined;
  }
  let dir;
  try {
    dir = value.startsWith('file://') ? fileURLToPath(value) : value;
  } catch {
    problems.push('BANTAY_STORE: is not a valid file:// URL (use file:///absolute/path)');
    return undefined;
  }
  return { type: 'local', dir: isAbsolute(dir) ? dir : resolve(cwd, dir) };
}

/** The shared credentials file (AWS_PROFILE or "default"), for hosts set up with `aws configure`. */
function profileCredentials(env) {
  const file = env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials');
  if (!existsSync(file)) return undefined;
  const profile = env.AWS_PROFILE ?? 'default';
  let section;
  const values = {};
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) section = header[1].trim();
    const pair = /^\s*([A-Za-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (pair && section === profile) values[pair[1].toLowerCase()] = pair[2];
  }
  if (!values.aws_access_key_id || !values.aws_secret_access_key) return undefined;
  return { accessKeyId: values.aws_access_key_id, secretAccessKey: values.aws_secret_access_key, sessionToken: values.aws_session_token };
}

// ---------------------------------------------------------------------------------------------
// Keys (encryption-format.md "Keys"): base64 of 32 bytes; public id "k1:" + 16 hex chars.

const BASE64 = /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}$/;

function parseKey(text) {
  const t = text.trim();
  if (t === '' || !BASE64.test(t) || t.replace(/=+$/, '').length % 4 === 1) return undefined;
  const key = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
  return key.length === 32 ? key : undefined;
}

function keyIdOf(key) {
  return 'k1:' + createHmac('sha256', key).update('bantay key id v1').digest('hex').slice(0, 16);
}

function loadKeys(env, cwd, problems) {
  const found = [];
  const bad = (variable) => problems.push(`${variable}: must be base64 of exactly 32 random bytes (generate one with: openssl rand -base64 32)`);
  if (env.BANTAY_ENCRYPTION_KEY !== undefined && env.BANTAY_ENCRYPTION_KEY_FILE !== undefined) {
    problems.push('BANTAY_ENCRYPTION_KEY_FILE: set either BANTAY_ENCRYPTION_KEY or BANTAY_ENCRYPTION_KEY_FILE, not both');
  } else if (env.BANTAY_ENCRYPTION_KEY !== undefined) {
    const key = parseKey(env.BANTAY_ENCRYPTION_KEY);
    if (key) found.push(key);
    else bad('BANTAY_ENCRYPTION_KEY');
  } else if (env.BANTAY_ENCRYPTION_KEY_FILE !== undefined) {
    const file = resolve(cwd, env.BANTAY_ENCRYPTION_KEY_FILE);
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(`BANTAY_ENCRYPTION_KEY_FILE: file ${file} cannot be read (${err.code ?? 'error'})`);
    }
    if (text !== undefined) {
      const key = parseKey(text);
      if (key) found.push(key);
      else bad('BANTAY_ENCRYPTION_KEY_FILE');
    }
  }
  (env.BANTAY_DECRYPTION_KEYS ?? '').split(/[,\s]+/).filter((s) => s !== '').forEach((s, i) => {
    const key = parseKey(s);
    if (key) found.push(key);
    else bad(`BANTAY_DECRYPTION_KEYS (key ${i + 1})`);
  });
  const byId = new Map();
  for (const key of found) if (!byId.has(keyIdOf(key))) byId.set(keyIdOf(key), key);
  return byId;
}

function describeKeys(keys) {
  return keys.size === 0 ? '(none)' : [...keys.keys()].join(', ');
}

// ---------------------------------------------------------------------------------------------
// The encrypted stream (encryption-format.md, catalog-authentication.md §1): a 76-byte header,
// then AES-256-GCM chunks of C plaintext bytes + 16-byte tag, the last one flagged in its nonce.

const MAGIC = Buffer.from('BANTAY\x00E', 'latin1');
const HEADER_LENGTH = 76;
const TAG = 16;
const MIN_CHUNK = 16;
const MAX_CHUNK = 16 * 1024 * 1024;

function parseStreamHeader(h) {
  if (!h.subarray(0, 8).equals(MAGIC)) throw integrity('not a Bantay encrypted stream (bad magic)');
  const version = h[8];
  if (version !== 1 && version !== 2) throw integrity(`unsupported encryption format version ${version} (this tool reads 1 and 2)`);
  const check = createHash('sha256').update(h.subarray(0, 68)).digest().subarray(0, 8);
  if (!check.equals(h.subarray(68, 76))) throw integrity('encryption header is corrupted (header check mismatch)');
  const chunkSize = h.readUInt32BE(9);
  if (chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK) throw integrity(`encryption header has an invalid chunk size ${chunkSize}`);
  const hex = h.toString('latin1', 13, 29);
  if (!/^[0-9a-f]{16}$/.test(hex)) throw integrity('encryption header has a malformed key id');
  return { version, chunkSize, keyId: `k1:${hex}`, salt: Buffer.from(h.subarray(29, 61)), noncePrefix: Buffer.from(h.subarray(61, 68)), aad: Buffer.from(h) };
}

function streamKey(master, header, objectKey) {
  if (header.version === 1) return Buffer.from(hkdfSync('sha256', master, header.salt, Buffer.from('bantay stream v1 aes-256-gcm', 'latin1'), 32));
  const info = Buffer.concat([Buffer.from('bantay stream v2 aes-256-gcm', 'latin1'), Buffer.from([0]), Buffer.from(objectKey, 'utf8')]);
  return Buffer.from(hkdfSync('sha256', master, header.salt, info, 32));
}

function openChunk(state, frame, last) {
  const index = state.index;
  if (index > 0xffffffff) throw integrity('stream exceeds the 2^32-chunk limit of the format');
  if (frame.length < TAG) throw integrity(`truncated: the stream ends inside chunk ${index}`);
  const nonce = Buffer.alloc(12);
  state.header.noncePrefix.copy(nonce, 0);
  nonce.writeUInt32BE(index, 7);
  nonce[11] = last ? 1 : 0;
  const decipher = createDecipheriv('aes-256-gcm', state.key, nonce, { authTagLength: TAG });
  decipher.setAAD(state.header.aad);
  decipher.setAuthTag(frame.subarray(frame.length - TAG));
  const plain = decipher.update(frame.subarray(0, frame.length - TAG));
  try {
    decipher.final();
  } catch {
    throw integrity(`authentication failed at chunk ${index}${last ? ' (the final chunk)' : ''}: the artifact was modified, truncated, moved to another name, or the wrong key was used`);
  }
  state.index += 1;
  return plain;
}

/**
 * Decrypts `source` (async iterable of Buffers). Yields a chunk's plaintext only after its tag
 * verified; throws on any damage. `info.onHeader(header)` is called once the header is read.
 * Memory is one frame, whatever the artifact size.
 */
async function* decryptChunks(source, keys, objectKey, info = {}) {
  let header = Buffer.alloc(0);
  let state;
  let frame;
  let filled = 0;
  for await (const input of source) {
    let data = input;
    if (state === undefined) {
      const need = HEADER_LENGTH - header.length;
      header = Buffer.concat([header, data.subarray(0, need)]);
      data = data.subarray(need);
      const n = Math.min(header.length, 8);
      if (!header.subarray(0, n).equals(MAGIC.subarray(0, n))) throw integrity('not a Bantay encrypted stream (bad magic)');
      if (header.length < HEADER_LENGTH) continue;
      const parsed = parseStreamHeader(header);
      const master = keys.get(parsed.keyId);
      if (master === undefined) {
        throw fail('KEY_MISSING', `no configured key can decrypt ${objectKey}: it was encrypted with key ${parsed.keyId}, configured keys are ${describeKeys(keys)}`);
      }
      info.onHeader?.(parsed);
      state = { header: parsed, key: streamKey(master, parsed, objectKey), index: 0 };
      frame = Buffer.allocUnsafe(parsed.chunkSize + TAG);
    }
    while (data.length > 0) {
      const take = Math.min(data.length, frame.length - filled);
      data.copy(frame, filled, 0, take);
      filled += take;
      data = data.subarray(take);
      if (filled === frame.length) {
        yield openChunk(state, frame, false);
        filled = 0;
      }
    }
  }
  if (state === undefined) throw integrity(header.length === 0 ? 'empty input: not a Bantay encrypted stream' : 'truncated: the stream ends inside the encryption header');
  if (filled === 0) throw integrity(`truncated: the stream ends before its final chunk (chunk ${state.index})`);
  yield openChunk(state, frame.subarray(0, filled), true);
}

/** Passes bytes through; throws at the end (or as soon as too many arrive) unless size and SHA-256 match. */
function digestCheck(expected, what) {
  return async function* (source) {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of source) {
      bytes += chunk.length;
      if (expected.size !== undefined && bytes > expected.size) throw integrity(`${what} is larger than the manifest records (${expected.size} bytes)`);
      hash.update(chunk);
      yield chunk;
    }
    if (expected.size !== undefined && bytes !== expected.size) throw integrity(`${what} is ${bytes} bytes, the manifest records ${expected.size}: truncated or replaced`);
    const digest = hash.digest('hex');
    if (expected.sha256 !== undefined && digest !== expected.sha256) throw integrity(`${what} does not match its SHA-256 in the manifest (got ${digest})`);
  };
}

// ---------------------------------------------------------------------------------------------
// Authenticated records (catalog-authentication.md §2): HMAC-SHA256 over the record's object
// key and the RFC 8785 canonical JSON of the record without "auth".

function canonicalJson(value) {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw integrity('record holds a non-finite number');
    return JSON.stringify(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    // Default sort compares UTF-16 code units, as RFC 8785 requires.
    const names = Object.keys(value).sort();
    return `{${names.map((n) => `${JSON.stringify(n)}:${canonicalJson(value[n])}`).join(',')}}`;
  }
  throw integrity('record holds a value JSON cannot carry');
}

function recordTag(master, objectKey, record) {
  const catalogKey = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), Buffer.from('bantay catalog v1 hmac-sha256', 'latin1'), 32));
  const { auth: _auth, ...rest } = record;
  return createHmac('sha256', catalogKey)
    .update(Buffer.concat([Buffer.from('bantay record v1', 'latin1'), Buffer.from([0]), Buffer.from(objectKey, 'utf8'), Buffer.from([0]), Buffer.from(canonicalJson(rest), 'utf8')]))
    .digest('hex');
}

/** Why `record` (stored at `objectKey`) does not authenticate under `keys`, or undefined when it does. */
function authProblem(record, objectKey, keys) {
  const auth = record.auth;
  if (auth === null || typeof auth !== 'object' || Array.isArray(auth)) return 'its auth tag is malformed';
  if (auth.v !== 1 || auth.alg !== 'HMAC-SHA256' || typeof auth.keyId !== 'string' || typeof auth.tag !== 'string' || !/^[0-9a-f]{64}$/.test(auth.tag)) return 'its auth tag is malformed';
  const master = keys.get(auth.keyId);
  if (master === undefined) return `it was authenticated with key ${auth.keyId}, which is not configured (configured: ${describeKeys(keys)})`;
  const expected = Buffer.from(recordTag(master, objectKey, record), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(auth.tag, 'hex'))) return 'its auth tag does not verify: the record was modified or moved';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Stores: a local directory and S3 (SigV4 signed here). Both: list(prefix), get(key), dirs(prefix).

function isValidKey(key) {
  return key.length > 0 && key.length <= 1024 && key.split('/').every((s) => KEY_SEGMENT.test(s));
}

function openStore(location) {
  return location.type === 'local' ? localStore(location.dir) : s3Store(location);
}

function localStore(root) {
  const pathOf = (key) => join(root, ...key.split('/'));
  async function* walk(dirKey, prefix) {
    let entries;
    try {
      entries = await readdir(join(root, ...dirKey.split('/').filter(Boolean)), { withFileTypes: true });
    } catch (err) {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return;
      throw fail('STORAGE', `cannot list ${join(root, dirKey)}: ${err.code ?? err.message}`);
    }
    const named = entries
      .filter((e) => (e.isFile() || e.isDirectory()) && KEY_SEGMENT.test(e.name))
      .map((e) => ({ e, sort: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
    for (const { e } of named) {
      const key = dirKey + e.name;
      if (e.isDirectory()) {
        if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* walk(`${key}/`, prefix);
      } else if (key.startsWith(prefix)) {
        const info = await stat(pathOf(key)).catch(() => undefined);
        if (info?.isFile()) yield { key, size: info.size };
      }
    }
  }
  return {
    description: `local:${root}`,
    async exists() {
      const info = await stat(root).catch(() => undefined);
      return info?.isDirectory() === true;
    },
    list: (prefix) => walk('', prefix),
    async get(key) {
      if (!isValidKey(key)) throw fail('USAGE', `invalid object key ${JSON.stringify(key.slice(0, 80))}`);
      const path = pathOf(key);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) throw fail('NOT_FOUND', `object ${key} not found in ${root}`);
      return createReadStream(path);
    },
    async dirs(prefix) {
      const entries = await readdir(pathOf(prefix.replace(/\/$/, '')), { withFileTypes: true }).catch(() => []);
      return entries.filter((e) => e.isDirectory() && KEY_SEGMENT.test(e.name)).map((e) => e.name).sort();
    },
  };
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

function rfc3986(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * AWS Signature Version 4 for an S3 request with an empty body. `path` is the already-encoded
 * URI path as sent; `query` a plain object. Returns the headers to send.
 */
function signV4({ method, host, path, query, region, credentials, now }) {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  const day = amzDate.slice(0, 8);
  const headers = { host, 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': amzDate };
  if (credentials?.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  if (!credentials) return headers;
  const names = Object.keys(headers).sort();
  const canonicalQuery = canonicalQueryString(query);
  const canonicalRequest = [method, path, canonicalQuery, names.map((n) => `${n}:${String(headers[n]).trim()}\n`).join(''), names.join(';'), EMPTY_SHA256].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const hmac = (key, data) => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}

function canonicalQueryString(query) {
  return Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [rfc3986(k), rfc3986(String(v))])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function xmlText(s) {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e) =>
    e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'" : String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)));
}
const xmlField = (xml, name) => {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlText(m[1]) : undefined;
};

function s3Store(loc) {
  const base = new URL(loc.endpoint ?? `https://s3.${loc.region}.amazonaws.com`);
  const basePath = base.pathname.replace(/\/+$/, '');
  const keyPrefix = loc.prefix === '' ? '' : `${loc.prefix}/`;
  const send = base.protocol === 'http:' ? httpRequest : httpsRequest;
  const target = (objectKey) => {
    const encodedKey = objectKey === undefined ? '' : objectKey.split('/').map(rfc3986).join('/');
    if (loc.forcePathStyle) return { host: base.host, path: `${basePath}/${loc.bucket}${objectKey === undefined ? '' : `/${encodedKey}`}` };
    return { host: `${loc.bucket}.${base.host}`, path: `${basePath}/${encodedKey}` };
  };

  /** One signed request; resolves with the response once its status line arrived. */
  function call(method, objectKey, query = {}, extraHeaders = {}) {
    const { host, path } = target(objectKey);
    const uri = path === '' ? '/' : path;
    const headers = { ...signV4({ method, host, path: uri, query, region: loc.region, credentials: loc.credentials, now: new Date() }), ...extraHeaders };
    const qs = canonicalQueryString(query);
    const hostname = loc.forcePathStyle ? base.hostname : `${loc.bucket}.${base.hostname}`;
    return new Promise((resolvePromise, reject) => {
      const req = send({ protocol: base.protocol, hostname, port: base.port || undefined, method, path: `${uri}${qs ? `?${qs}` : ''}`, headers });
      req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
      req.on('response', resolvePromise);
      req.on('error', reject);
      req.end();
    });
  }

  async function bodyText(res) {
    const parts = [];
    for await (const c of res) parts.push(c);
    return Buffer.concat(parts).toString('utf8');
  }

  /** Retries network errors and 5xx/429 with backoff; 4xx answers are final. */
  async function withRetries(what, attempt) {
    let last;
    for (let i = 0; i < 5; i += 1) {
      if (i > 0) await new Promise((r) => setTimeout(r, Math.min(8000, 250 * 2 ** i)));
      try {
        const res = await attempt();
        if (res.statusCode >= 500 || res.statusCode === 429) {
          last = new Error(`HTTP ${res.statusCode} ${xmlField(await bodyText(res), 'Code') ?? ''}`.trim());
          continue;
        }
        return res;
      } catch (err) {
        last = err;
      }
    }
    throw fail('STORAGE', `S3 ${what} failed after 5 attempts: ${last?.message ?? last}`);
  }

  const statusError = async (res, what) => {
    const code = xmlField(await bodyText(res), 'Code') ?? '';
    return fail(res.statusCode === 404 && code !== 'NoSuchBucket' ? 'NOT_FOUND' : 'STORAGE', `S3 ${what}: HTTP ${res.statusCode} ${code}`.trim());
  };

  async function* listPages(prefix, delimiter) {
    let token;
    do {
      const query = { 'list-type': '2', prefix: keyPrefix + prefix, 'continuation-token': token, delimiter };
      const res = await withRetries(`list ${keyPrefix}${prefix}`, () => call('GET', undefined, query));
      if (res.statusCode !== 200) throw await statusError(res, `list s3://${loc.bucket}/${keyPrefix}${prefix}`);
      const xml = await bodyText(res);
      yield xml;
      token = xmlField(xml, 'IsTruncated') === 'true' ? xmlField(xml, 'NextContinuationToken') : undefined;
    } while (token);
  }

  return {
    description: `s3://${loc.bucket}/${loc.prefix}${loc.endpoint ? ` (endpoint ${base.origin}${basePath})` : ''}`,
    async exists() {
      return true;
    },
    async *list(prefix) {
      for await (const xml of listPages(prefix)) {
        for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
          const full = xmlField(m[1], 'Key') ?? '';
          const key = full.slice(keyPrefix.length);
          if (!full.startsWith(keyPrefix) || !isValidKey(key)) continue;
          yield { key, size: Number(xmlField(m[1], 'Size') ?? 0) };
        }
      }
    },
    async dirs(prefix) {
      const out = [];
      for await (const xml of listPages(prefix, '/')) {
        for (const m of xml.matchAll(/<CommonPrefixes>([\s\S]*?)<\/CommonPrefixes>/g)) {
          const name = (xmlField(m[1], 'Prefix') ?? '').slice(keyPrefix.length + prefix.length).replace(/\/$/, '');
          if (KEY_SEGMENT.test(name)) out.push(name);
        }
      }
      return out.sort();
    },
    /** The object's bytes; a connection lost mid-body is resumed with a Range request (same ETag). */
    async get(key) {
      if (!isValidKey(key)) throw fail('USAGE', `invalid object key ${JSON.stringify(key.slice(0, 80))}`);
      const first = await withRetries(`get ${key}`, () => call('GET', keyPrefix + key));
      if (first.statusCode !== 200) throw await statusError(first, `get ${key}`);
      const etag = first.headers.etag;
      return Readable.from(
        (async function* () {
          let res = first;
          let offset = 0;
          for (let resumes = 0; ; ) {
            try {
              for await (const chunk of res) {
                offset += chunk.length;
                yield chunk;
              }
              if (res.complete === false || (res.headers['content-length'] !== undefined && res.statusCode === 200 && offset !== Number(res.headers['content-length']))) throw new Error('connection closed before the whole object arrived');
              return;
            } catch (err) {
              resumes += 1;
              if (resumes > 5 || etag === undefined) throw fail('STORAGE', `S3 get ${key}: ${err.message}`);
              warn(`S3 get ${key}: ${err.message}; resuming at byte ${offset}`);
              res = await withRetries(`get ${key}`, () => call('GET', keyPrefix + key, {}, { range: `bytes=${offset}-`, 'if-match': etag }));
              if (res.statusCode !== 206) throw await statusError(res, `resume get ${key}`);
            }
          }
        })(),
        { objectMode: false },
      );
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The catalog: backups/<id>/manifest.json. A record is judged by catalog-authentication.md §3.

const ID = /^[a-z][a-z0-9]{0,15}-\d{8}T\d{6}Z-[0-9a-f]{4,16}$/;
const FUTURE_SLACK_MS = 5 * 60 * 1000;

async function readJson(store, key) {
  const parts = [];
  let size = 0;
  for await (const c of await store.get(key)) {
    size += c.length;
    if (size > 16 * 1024 * 1024) throw integrity(`${key} is implausibly large for a record`);
    parts.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch {
    throw integrity(`${key} is not valid JSON`);
  }
}

/**
 * Every artifact a manifest names: objects anywhere in it with a string `key` and a size or
 * SHA-256 (artifact, files index, and whatever later kinds add), named by their file name.
 */
function artifactsOf(manifest) {
  const out = [];
  const visit = (value, path) => {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) return value.forEach((v, i) => visit(v, `${path}[${i}]`));
    if (typeof value.key === 'string' && (typeof value.sha256 === 'string' || typeof value.sizeBytes === 'number')) {
      const file = value.key.split('/').pop();
      out.push({ field: path, name: file.replace(/\.enc$/, ''), key: value.key, entry: value });
    }
    for (const [k, v] of Object.entries(value)) if (k !== 'auth') visit(v, path === '' ? k : `${path}.${k}`);
  };
  visit(manifest, '');
  return out;
}

/** The values of every member called `name` anywhere in `value` (except inside "auth"). */
function membersNamed(value, name, out = []) {
  if (value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    for (const v of value) membersNamed(v, name, out);
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    if (k === 'auth') continue;
    if (k === name) out.push(v);
    membersNamed(v, name, out);
  }
  return out;
}

/** Whether the manifest says the artifact is encrypted (null means "stored in the clear"). */
function encryptionOf(manifest, artifact) {
  if (artifact.entry.encryption !== undefined) return artifact.entry.encryption;
  if (artifact.key.endsWith('.enc')) return manifest.artifact?.encryption ?? { keyId: undefined };
  return manifest.artifact?.encryption ?? null;
}

/**
 * Judges one manifest: status 'authenticated' | 'legacy' (no tag, formatVersion 1) | 'unchecked'
 * (no key configured) | 'rejected', with reasons, the artifacts, and whether a key can read it.
 */
function judgeManifest(id, json, keys, context) {
  const objectKey = `backups/${id}/manifest.json`;
  const entry = { id, objectKey, manifest: json, status: 'rejected', reasons: [], artifacts: [] };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return { ...entry, reasons: ['the manifest is not a JSON object'] };
  if (json.id !== id) return { ...entry, reasons: [`the manifest names backup ${String(json.id).slice(0, 40)}, not ${id}`] };
  if (typeof json.artifact?.key !== 'string') return { ...entry, reasons: ['the manifest names no artifact'] };
  entry.artifacts = artifactsOf(json);
  const members = membersNamed(json, 'key');
  for (const key of members) {
    if (typeof key !== 'string' || !isValidKey(key) || !key.startsWith(`backups/${id}/`)) entry.reasons.push(`it names an artifact outside backups/${id}/ (${String(key).slice(0, 80)})`);
  }
  if (keys.size === 0) {
    entry.status = entry.reasons.length > 0 ? 'rejected' : 'unchecked';
    return entry;
  }
  if (json.auth !== undefined) {
    const problem = authProblem(json, objectKey, keys);
    if (problem) entry.reasons.push(problem);
  } else if (json.formatVersion !== 1) {
    entry.reasons.push('it carries no auth tag');
  } else if (context.authenticatedSince !== undefined && typeof json.createdAt === 'string' && json.createdAt > context.authenticatedSince) {
    entry.reasons.push(`it carries no auth tag but is newer than the first authenticated record in this store (${context.authenticatedSince})`);
  }
  for (const a of entry.artifacts) if (encryptionOf(json, a) === null) entry.reasons.push(`its artifact ${a.name} is not encrypted`);
  if (membersNamed(json, 'encryption').includes(null) && !entry.reasons.some((r) => r.includes('is not encrypted'))) entry.reasons.push('it names an unencrypted artifact');
  const created = Date.parse(json.createdAt);
  if (!Number.isFinite(created)) entry.reasons.push('its createdAt is not a time');
  else if (created > context.now + FUTURE_SLACK_MS) entry.reasons.push(`its createdAt (${json.createdAt}) is in the future`);
  if (entry.reasons.length === 0) entry.status = json.auth === undefined ? 'legacy' : 'authenticated';
  return entry;
}

async function mapLimit(items, limit, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  }));
}

/** Every backup in the store, judged, newest first. */
async function readCatalog(store, keys) {
  const ids = [];
  for await (const o of store.list('backups/')) {
    const m = /^backups\/([^/]+)\/manifest\.json$/.exec(o.key);
    if (m && ID.test(m[1])) ids.push(m[1]);
  }
  const raw = new Array(ids.length);
  await mapLimit(ids, 8, async (id, i) => {
    try {
      raw[i] = { id, json: await readJson(store, `backups/${id}/manifest.json`) };
    } catch (err) {
      raw[i] = { id, error: err.message };
    }
  });
  // Legacy (unauthenticated) records newer than the oldest authenticated one cannot be Bantay's.
  let authenticatedSince;
  if (keys.size > 0) {
    for (const r of raw) {
      if (r.json?.auth === undefined || typeof r.json.createdAt !== 'string') continue;
      if (authProblem(r.json, `backups/${r.id}/manifest.json`, keys) !== undefined) continue;
      if (authenticatedSince === undefined || r.json.createdAt < authenticatedSince) authenticatedSince = r.json.createdAt;
    }
  }
  const context = { now: Date.now(), authenticatedSince };
  const judged = raw.map((r) => (r.error ? { id: r.id, status: 'rejected', reasons: [r.error], artifacts: [], manifest: undefined } : judgeManifest(r.id, r.json, keys, context)));
  const created = (e) => (typeof e.manifest?.createdAt === 'string' ? e.manifest.createdAt : '');
  return judged.sort((a, b) => created(b).localeCompare(created(a)) || b.id.localeCompare(a.id));
}

async function findBackup(store, keys, idOrLatest, kind) {
  const catalog = await readCatalog(store, keys);
  if (idOrLatest === 'latest') {
    const usable = catalog.filter((e) => e.status !== 'rejected' && (kind === undefined || e.manifest.kind === kind));
    if (usable.length === 0) throw fail('NOT_FOUND', `there is no usable backup${kind ? ` of kind ${kind}` : ''} in ${store.description}`);
    return { entry: usable[0], catalog };
  }
  if (!ID.test(idOrLatest)) throw fail('USAGE', `"${idOrLatest.slice(0, 64)}" is not a backup id (see: node bantay-recover.mjs list)`);
  const entry = catalog.find((e) => e.id === idOrLatest);
  if (!entry) throw fail('NOT_FOUND', `backup ${idOrLatest} is not in ${store.description}`);
  return { entry, catalog };
}

function refuseRejected(entry) {
  if (entry.status === 'rejected') {
    throw fail('INTEGRITY', `backup ${entry.id} is REJECTED: ${entry.reasons.join('; ')}`, [
      'It is not restored. If a key is missing, add it to BANTAY_DECRYPTION_KEYS.',
    ]);
  }
  if (entry.status === 'legacy') warn(`backup ${entry.id} is not authenticated (legacy format 1 manifest): its artifacts are still checked against the manifest and the encryption`);
  if (entry.status === 'unchecked') warn('authenticity cannot be checked: no encryption key configured');
}

// ---------------------------------------------------------------------------------------------
// Reading one artifact: stored bytes -> size/SHA-256 check -> decrypt -> plaintext check.

/** The verified plaintext of an artifact of a judged backup, as an async iterable of Buffers. */
async function artifactPlaintext(store, keys, entry, artifact) {
  const e = artifact.entry;
  const encryption = encryptionOf(entry.manifest, artifact);
  const stored = { size: e.sizeBytes, sha256: e.sha256 };
  const plain = { size: e.plainSizeBytes, sha256: e.plainSha256 };
  if (encryption === null) {
    plain.size ??= stored.size;
    plain.sha256 ??= stored.sha256;
  }
  if (stored.sha256 === undefined && plain.sha256 === undefined) warn(`${artifact.key}: the manifest records no SHA-256 for it; only the encryption authenticates it`);
  if (encryption !== null && keys.size === 0) throw fail('KEY_MISSING', `backup ${entry.id} is encrypted${encryption.keyId ? ` with key ${encryption.keyId}` : ''}: set BANTAY_ENCRYPTION_KEY (or BANTAY_DECRYPTION_KEYS)`);
  let source = digestCheck(stored, `the stored ${artifact.name} of ${entry.id}`)(await store.get(artifact.key));
  if (encryption !== null) {
    source = decryptChunks(source, keys, artifact.key, {
      onHeader: (h) => {
        if (encryption.keyId !== undefined && h.keyId !== encryption.keyId) throw integrity(`${artifact.key} is encrypted with key ${h.keyId}, but its manifest says ${encryption.keyId}`);
        if (h.version === 1) note(`${artifact.key}: encryption format 1, not bound to its backup (written by an earlier Bantay)`);
      },
    });
  }
  return digestCheck(plain, `the decrypted ${artifact.name} of ${entry.id}`)(source);
}

function pickArtifact(entry, name) {
  if (name === undefined) return entry.artifacts.find((a) => a.field === 'artifact');
  const wanted = name.replace(/\.enc$/, '');
  const found = entry.artifacts.find((a) => a.name === wanted || a.field === name);
  if (!found) throw fail('USAGE', `backup ${entry.id} has no artifact ${name}; it has: ${entry.artifacts.map((a) => a.name).join(', ')}`);
  return found;
}

/** A Writable onto an open FileHandle that leaves it open (for fsync and close by the caller). */
function handleSink(handle) {
  return new Writable({
    write(chunk, _enc, callback) {
      (async () => {
        for (let offset = 0; offset < chunk.length; ) offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
      })().then(() => callback(), callback);
    },
  });
}

/**
 * Writes `source` to `out` (FILE.partial, fsync, rename) or to stdout. A file appears under its
 * name only after every check passed; stdout output is provisional until the exit code is 0.
 */
async function emit(source, out, { overwrite = false, transforms = [] } = {}) {
  if (out === undefined) {
    await pipeline(Readable.from(source), ...transforms, new Writable({
      write(chunk, _enc, cb) {
        if (process.stdout.write(chunk)) cb();
        else process.stdout.once('drain', () => cb());
      },
    }));
    return;
  }
  const target = resolve(out);
  if (!overwrite && existsSync(target)) throw fail('USAGE', `${target} already exists; choose another --out or remove it`);
  const partial = `${target}.partial`;
  const handle = await open(partial, 'wx', 0o600).catch((err) => {
    throw fail('STORAGE', `cannot create ${partial}: ${err.code === 'EEXIST' ? 'it exists (left by an earlier failed run? remove it)' : err.code ?? err.message}`);
  });
  try {
    await pipeline(Readable.from(source), ...transforms, handleSink(handle));
    await handle.sync();
    await handle.close();
    await rename(partial, target);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(partial).catch(() => undefined);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Files backups (files-format.md): the index, the chain, and a safe extraction of the archives.

const INDEX_FORMAT = 'bantay-files-index-v1';

async function* lines(source) {
  let rest = '';
  for await (const chunk of source) {
    rest += chunk.toString('utf8');
    let at;
    while ((at = rest.indexOf('\n')) !== -1) {
      yield rest.slice(0, at);
      rest = rest.slice(at + 1);
    }
    if (rest.length > 1024 * 1024) throw integrity('file index line longer than 1 MiB');
  }
  if (rest !== '') yield rest;
}

/** The index records of one files backup, after checking its header names that backup. */
async function readIndex(store, keys, entry) {
  const artifact = entry.artifacts.find((a) => a.field === 'files');
  if (!artifact) throw integrity(`backup ${entry.id} has no file index`);
  const gunzip = createGunzip();
  const plain = Readable.from(await artifactPlaintext(store, keys, entry, artifact));
  const records = [];
  let header;
  await pipeline(plain, gunzip, async function (source) {
    for await (const line of lines(source)) {
      if (line === '') continue;
      let value;
      try {
        value = JSON.parse(line);
      } catch {
        throw integrity(`the file index of ${entry.id} has a line that is not JSON`);
      }
      if (header === undefined) {
        header = value;
        if (value?.format !== INDEX_FORMAT || value.backupId !== entry.id) throw integrity(`the file index of ${entry.id} does not belong to it (header ${line.slice(0, 120)})`);
        continue;
      }
      records.push(value);
    }
  });
  if (header === undefined) throw integrity(`the file index of ${entry.id} is empty`);
  return records;
}

/** The backups to apply, full first, ending with `entry` (uploads incrementals have parents). */
function chainOf(entry, catalog) {
  const chain = [entry];
  let current = entry;
  while (current.manifest.chain && current.manifest.chain.parentId !== null) {
    const parentId = current.manifest.chain.parentId;
    const parent = catalog.find((e) => e.id === parentId);
    if (!parent) throw fail('NOT_FOUND', `backup ${current.id} is an incremental on ${parentId}, which is not in the store`);
    refuseRejected(parent);
    if (parent.manifest.chain?.chainId !== entry.manifest.chain.chainId || parent.manifest.chain.sequence !== current.manifest.chain.sequence - 1) {
      throw integrity(`backup ${current.id} names ${parentId} as its parent, but they are not one chain`);
    }
    chain.unshift(parent);
    current = parent;
    if (chain.length > 10_000) throw integrity('the backup chain does not end');
  }
  return chain;
}

function safeRelPath(path) {
  if (typeof path !== 'string' || path === '' || path.length > 4096) return false;
  if (path === '.') return true;
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.includes('\0') || path.includes('\\')) return false;
  return path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** Symlinks may climb only with leading "..", never above the backup's root. */
function safeLinkTarget(linkPath, target) {
  if (typeof target !== 'string' || target === '' || target.startsWith('/') || target.includes('\0') || /^[A-Za-z]:/.test(target)) return false;
  const depth = linkPath.split('/').length - 1;
  let climbs = 0;
  let named = false;
  for (const s of target.split('/')) {
    if (s === '..') {
      if (named) return false;
      climbs += 1;
    } else if (s !== '' && s !== '.') named = true;
  }
  return climbs <= depth;
}

/** The tree at `entry`: the chain's indexes applied in order; refuses anything unsafe. */
async function planTree(store, keys, chain) {
  const tree = new Map();
  const ids = new Set(chain.map((e) => e.id));
  for (const e of chain) {
    for (const r of await readIndex(store, keys, e)) {
      if (!safeRelPath(r?.path)) throw integrity(`the file index of ${e.id} holds an unsafe path ${JSON.stringify(String(r?.path).slice(0, 80))}`);
      if (r.type === 'deleted') tree.delete(r.path);
      else if (r.type === 'file' || r.type === 'dir' || r.type === 'symlink') tree.set(r.path, r);
      else throw integrity(`the file index of ${e.id} holds an entry of unknown type ${String(r.type).slice(0, 20)}`);
    }
  }
  if (tree.get('.')?.type !== 'dir') throw integrity('the file index has no root directory');
  for (const [path, r] of tree) {
    if (r.type !== 'symlink' && (!Number.isInteger(r.mode) || (r.mode & ~0o777) !== 0)) throw integrity(`${path}: mode ${r.mode} is not plain permission bits`);
    if (!Number.isInteger(r.mtimeUs)) throw integrity(`${path}: mtimeUs is not an integer`);
    if (path !== '.') {
      const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '.';
      if (tree.get(parent)?.type !== 'dir') throw integrity(`${path}: its parent is not a directory of the backup`);
    }
    if (r.type === 'symlink' && !safeLinkTarget(path, r.target)) throw integrity(`${path}: symlink target ${JSON.stringify(String(r.target).slice(0, 80))} leaves the tree`);
    if (r.type === 'file') {
      if (!ids.has(r.in)) throw integrity(`${path}: its content is said to be in ${String(r.in).slice(0, 40)}, outside this chain`);
      if (!Number.isSafeInteger(r.size) || r.size < 0 || !/^[0-9a-f]{64}$/.test(r.sha256 ?? '')) throw integrity(`${path}: size or sha256 is malformed`);
    }
  }
  return tree;
}

/** Reads exact byte counts from an async iterable of Buffers. */
class ByteReader {
  constructor(source) {
    this.it = source[Symbol.asyncIterator]();
    this.buf = Buffer.alloc(0);
  }
  async more() {
    const r = await this.it.next();
    if (r.done) return false;
    this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    return true;
  }
  async read(n) {
    while (this.buf.length < n) if (!(await this.more())) throw integrity('the archive is truncated');
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async *take(n) {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.more())) throw integrity('the archive is truncated inside an entry');
      const k = Math.min(left, this.buf.length);
      yield this.buf.subarray(0, k);
      this.buf = this.buf.subarray(k);
      left -= k;
    }
  }
  async skip(n) {
    for await (const _ of this.take(n)) void _;
  }
  /** Reads to the end, so the digest checks of the stages before run. */
  async drain() {
    this.buf = Buffer.alloc(0);
    while (await this.more()) this.buf = Buffer.alloc(0);
  }
}

function tarString(block, offset, length) {
  const raw = block.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

function tarNumber(block, offset, length, what) {
  const text = tarString(block, offset, length).trim();
  if (!/^[0-7]*$/.test(text)) throw integrity(`tar header field ${what} is not an octal number`);
  return text === '' ? 0 : parseInt(text, 8);
}

function parsePax(data) {
  const out = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) throw integrity('malformed PAX header');
    const length = Number(data.toString('latin1', at, space));
    if (!Number.isInteger(length) || length <= space - at || at + length > data.length) throw integrity('malformed PAX header');
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq === -1) throw integrity('malformed PAX record');
    out[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return out;
}

/** Yields the entries of a tar stream; `entry.content()` yields its data, or it is skipped. */
async function* tarEntries(reader) {
  let pax;
  for (;;) {
    const block = await reader.read(512);
    if (block.every((b) => b === 0)) return;
    let sum = 0;
    for (let i = 0; i < 512; i += 1) sum += i >= 148 && i < 156 ? 32 : block[i];
    if (sum !== tarNumber(block, 148, 8, 'chksum')) throw integrity('tar header checksum mismatch: the archive is damaged');
    const type = String.fromCharCode(block[156] || 0x30);
    let size = tarNumber(block, 124, 12, 'size');
    const prefix = block.toString('latin1', 257, 263) === 'ustar\0' ? tarString(block, 345, 155) : '';
    let name = prefix ? `${prefix}/${tarString(block, 0, 100)}` : tarString(block, 0, 100);
    if (type === 'x') {
      if (size > 1024 * 1024) throw integrity('PAX header larger than 1 MiB');
      pax = parsePax(await reader.read(size));
      await reader.skip((512 - (size % 512)) % 512);
      continue;
    }
    if (!['0', '5', '2'].includes(type)) throw integrity(`the archive holds an entry of tar type ${JSON.stringify(type)}, which Bantay never writes`);
    const ext = pax ?? {};
    pax = undefined;
    if (ext.path !== undefined) name = ext.path;
    if (ext.size !== undefined) size = Number(ext.size);
    if (!Number.isSafeInteger(size) || size < 0) throw integrity('tar entry size is malformed');
    const path = name.replace(/\/+$/, '');
    let consumed = false;
    const entry = {
      type, path, size, gzip: ext['BANTAY.compression'] === 'gzip',
      content: () => {
        consumed = true;
        return reader.take(size);
      },
    };
    yield entry;
    if (!consumed) await reader.skip(size);
    await reader.skip((512 - (size % 512)) % 512);
  }
}

/** Writes one file's content (gunzipped when marked) and checks its size and SHA-256 against the index. */
async function writeFileContent(path, entry, record) {
  const fd = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
  const hash = createHash('sha256');
  let bytes = 0;
  const check = async function* (source) {
    for await (const c of source) {
      bytes += c.length;
      if (bytes > record.size) throw integrity(`${record.path}: content is larger than the index records (${record.size} bytes)`);
      hash.update(c);
      yield c;
    }
  };
  try {
    const stages = [Readable.from(entry.content())];
    if (entry.gzip) stages.push(createGunzip());
    await pipeline(...stages, check, handleSink(fd));
  } finally {
    await fd.close();
  }
  if (bytes !== record.size || hash.digest('hex') !== record.sha256) throw integrity(`${record.path}: content does not match the index (size or SHA-256)`);
}

/**
 * Restores the tree of a files backup into `dir` (which must not exist): into dir.partial first,
 * renamed to `dir` only when every file's SHA-256, every archive and every index verified.
 */
async function extractFiles(store, keys, entry, catalog, dir) {
  const target = resolve(dir);
  if (existsSync(target)) throw fail('USAGE', `${target} already exists; --extract needs a new directory`);
  const chain = chainOf(entry, catalog);
  const tree = await planTree(store, keys, chain);
  const partial = `${target}.partial`;
  await mkdir(partial, { mode: 0o700 }).catch((err) => {
    throw fail('STORAGE', `cannot create ${partial}: ${err.code === 'EEXIST' ? 'it exists (left by an earlier failed run? remove it)' : err.code ?? err.message}`);
  });
  const at = (path) => (path === '.' ? partial : join(partial, ...path.split('/')));
  try {
    const paths = [...tree.keys()].sort(comparePaths);
    for (const path of paths) if (path !== '.' && tree.get(path).type === 'dir') await mkdir(at(path), { mode: 0o700 });
    const needed = new Map();
    for (const [path, r] of tree) if (r.type === 'file') (needed.get(r.in) ?? needed.set(r.in, new Set()).get(r.in)).add(path);
    for (const e of chain) {
      const want = needed.get(e.id);
      if (!want) continue;
      const reader = new ByteReader(await artifactPlaintext(store, keys, e, e.artifacts.find((a) => a.field === 'artifact')));
      for await (const t of tarEntries(reader)) {
        if (t.type !== '0' || !want.has(t.path)) continue;
        const record = tree.get(t.path);
        await writeFileContent(at(t.path), t, record);
        want.delete(t.path);
      }
      await reader.drain();
      if (want.size > 0) throw integrity(`the archive of ${e.id} lacks ${want.size} file(s) its index places there, e.g. ${[...want][0]}`);
    }
    for (const path of paths) {
      const r = tree.get(path);
      if (r.type === 'symlink') await symlink(r.target, at(path));
    }
    for (const path of [...paths].reverse()) {
      const r = tree.get(path);
      const time = utimesSeconds(r.mtimeUs);
      if (r.type === 'symlink') await lutimes(at(path), time, time);
      else {
        await chmod(at(path), r.mode);
        await utimes(at(path), time, time);
      }
    }
    await rename(partial, target);
    const root = tree.get('.');
    await utimes(target, utimesSeconds(root.mtimeUs), utimesSeconds(root.mtimeUs));
    let files = 0;
    let bytes = 0;
    for (const r of tree.values()) if (r.type === 'file') (files += 1), (bytes += r.size);
    return { files, bytes, entries: tree.size, chain: chain.map((e) => e.id) };
  } catch (err) {
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

/** libuv truncates the double it is given to microseconds; half a microsecond absorbs rounding. */
function utimesSeconds(us) {
  return (us + 0.5) / 1e6;
}

function comparePaths(a, b) {
  if (a === b) return 0;
  if (a === '.') return -1;
  if (b === '.') return 1;
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i += 1) if (as[i] !== bs[i]) return as[i] < bs[i] ? -1 : 1;
  return as.length - bs.length;
}

// ---------------------------------------------------------------------------------------------
// WAL and any other object by key (point-in-time recovery). The archive's layout (Bantay's
// src/jobs/wal/archive-layout.ts): wal/archive.json names the one cluster the archive holds;
// wal/<system id>/<name>.json is the record of one WAL file (its plaintext SHA-256 and size, the
// stored object's), written last; wal/<system id>/<name>.gz[.enc] is the file, raw-deflated,
// then encrypted. Base backups are base/<id>/ (read them with decrypt-object).

const WAL_NAME = /^([0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/;
const SYSTEM_ID = /^\d{1,20}$/;

/** Judges a WAL archive record like a manifest: authenticated, legacy (warned) or refused. */
function checkRecord(record, objectKey, keys, what) {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) throw integrity(`${what} is not a JSON object`);
  if (keys.size === 0) return;
  if (record.auth !== undefined) {
    const problem = authProblem(record, objectKey, keys);
    if (problem) throw integrity(`${what} is REJECTED: ${problem}`);
  } else if (record.formatVersion === 1) {
    note(`${what} is not authenticated (written before format 2)`);
  } else {
    throw integrity(`${what} is REJECTED: it carries no auth tag`);
  }
}

async function readRecordIfAny(store, key) {
  try {
    return await readJson(store, key);
  } catch (err) {
    if (err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}

/** The checked plaintext of one archived WAL file, or undefined when it is not archived. */
async function walPlaintext(store, keys, systemId, name) {
  const recordKey = `wal/${systemId}/${name}.json`;
  const record = await readRecordIfAny(store, recordKey);
  if (record === undefined) return undefined;
  checkRecord(record, recordKey, keys, `the archive record of ${name}`);
  const a = record.artifact ?? {};
  if (record.kind !== 'wal-file' || record.name !== name || record.systemIdentifier !== systemId) throw integrity(`the archive record of ${name} names another file or cluster`);
  if (typeof a.key !== 'string' || !isValidKey(a.key) || !a.key.startsWith(`wal/${systemId}/${name}.`)) throw integrity(`the archive record of ${name} names an artifact outside its place`);
  if (a.compression !== 'deflate') throw integrity(`${name}: unknown compression ${String(a.compression).slice(0, 20)}`);
  if (a.encryption === null && keys.size > 0) throw integrity(`${name} is archived unencrypted, but a key is configured: it cannot be authenticated`);
  if (a.encryption !== null && keys.size === 0) throw fail('KEY_MISSING', `${name} is encrypted: set BANTAY_ENCRYPTION_KEY (or BANTAY_DECRYPTION_KEYS)`);
  let source = digestCheck({ size: a.sizeBytes, sha256: a.sha256 }, `the stored ${name}`)(await store.get(a.key));
  if (a.encryption !== null) source = decryptChunks(source, keys, a.key);
  source = digestCheck({ size: a.deflatedSizeBytes, sha256: a.deflatedSha256 }, `the decrypted ${name}`)(source);
  return { source, transforms: [createInflateRaw(), digestCheck({ size: record.sizeBytes, sha256: record.sha256 }, `the archived ${name}`)] };
}

/** The plaintext of any object by key: authenticated by the encryption only (no manifest). */
async function objectPlaintext(store, keys, key) {
  const raw = await store.get(key);
  if (!key.endsWith('.enc')) {
    if (keys.size > 0) throw integrity(`${key} is not encrypted, but a key is configured: it cannot be authenticated`);
    warn(`${key} is not encrypted; nothing authenticates it`);
    return raw;
  }
  return decryptChunks(raw, keys, key, { onHeader: (h) => h.version === 1 && note(`${key}: encryption format 1, not bound to its name`) });
}

async function walFetch(store, keys, name, dest, options) {
  if (!WAL_NAME.test(name)) throw fail('USAGE', `"${name.slice(0, 40)}" is not a WAL file name`);
  const identity = await readRecordIfAny(store, 'wal/archive.json');
  if (identity === undefined) throw fail('NOT_FOUND', `no WAL archive in ${store.description} (no wal/archive.json)`);
  checkRecord(identity, 'wal/archive.json', keys, 'the WAL archive identity');
  const systemId = identity.systemIdentifier;
  if (identity.kind !== 'wal-archive' || typeof systemId !== 'string' || !SYSTEM_ID.test(systemId)) throw integrity('wal/archive.json is malformed');
  if (options.systemId !== undefined && options.systemId !== systemId) throw integrity(`the archive holds cluster ${systemId}, not ${options.systemId}`);
  // A segment archived only as the streamer's .partial is served from it: PostgreSQL replays
  // it up to where it ends (as Bantay's own wal fetch does).
  const candidates = [name, ...(/^[0-9A-F]{24}$/.test(name) ? [`${name}.partial`] : [])];
  for (const candidate of candidates) {
    const found = await walPlaintext(store, keys, systemId, candidate);
    if (found === undefined) continue;
    if (candidate !== name) note(`serving ${candidate} for ${name} (the newest, partial segment)`);
    await emit(found.source, dest, { overwrite: true, transforms: found.transforms });
    return;
  }
  throw fail('NOT_FOUND', `${name} is not in the WAL archive (wal/${systemId}/)`);
}

// ---------------------------------------------------------------------------------------------
// Commands.

const HELP = `bantay-recover ${TOOL_VERSION}: restore Bantay backups without Bantay (Node.js >= 20 only)

  node bantay-recover.mjs list [--json]
      every backup, newest first, with whether its manifest authenticates
  node bantay-recover.mjs show ID|latest [--kind KIND]
      one backup: its manifest, status and artifacts
  node bantay-recover.mjs decrypt ID|latest [--kind KIND] [--artifact NAME] [--out FILE]
      the verified plaintext of one artifact (default: the main one) to FILE or stdout
      database:  ... decrypt ID | pg_restore --no-owner -d postgres://...   (or --out db.dump)
      files:     ... decrypt ID --artifact files.tar --out files.tar
  node bantay-recover.mjs decrypt ID --extract DIR
      restores a files backup (application, uploads, incl. its whole incremental chain) into DIR
  node bantay-recover.mjs list-base [--json]
      the base backups (for a point in time), newest first, with whether their records authenticate
  node bantay-recover.mjs decrypt-object KEY [--out FILE]
      any stored object by key (base backups, WAL), authenticated by its encryption only
  node bantay-recover.mjs wal-fetch %f %p [--system-id ID]
      for PostgreSQL's restore_command: exit 0 fetched, 1 not archived, 126 damaged
      (a segment archived only as NAME.partial is served from it)
  node bantay-recover.mjs keys
      the fingerprints (key ids) of the configured keys

Settings (environment or ./.env): BANTAY_STORE, S3_ENDPOINT, S3_REGION, S3_FORCE_PATH_STYLE,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, BANTAY_ENCRYPTION_KEY or
BANTAY_ENCRYPTION_KEY_FILE, BANTAY_DECRYPTION_KEYS. Never put a key on the command line.
Exit codes: 0 ok, 1 failed, 2 usage or configuration error.`;

function parseArgs(argv) {
  const positional = [];
  const options = {};
  const valued = new Set(['--artifact', '--out', '--kind', '--extract', '--system-id']);
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (valued.has(a)) {
      if (i + 1 >= argv.length) throw fail('USAGE', `${a} needs a value`);
      options[a.slice(2)] = argv[++i];
    } else if (a === '--json' || a === '--partial') options[a.slice(2)] = true;
    else if (a === '--help' || a === '-h') options.help = true;
    else if (a.startsWith('--')) throw fail('USAGE', `unknown option ${a.slice(0, 40)}`);
    else positional.push(a);
  }
  return { positional, options };
}

function statusText(e) {
  if (e.status === 'authenticated') return 'authenticated';
  if (e.status === 'legacy') return 'NOT AUTHENTICATED (legacy)';
  if (e.status === 'unchecked') return 'unchecked (no key)';
  return `REJECTED: ${e.reasons.join('; ')}`;
}

function formatBytes(n) {
  if (typeof n !== 'number') return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) (v /= 1024), (u += 1);
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

async function cmdList(store, keys, options) {
  const catalog = await readCatalog(store, keys);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(catalog.map((e) => ({ id: e.id, kind: e.manifest?.kind, createdAt: e.manifest?.createdAt, label: e.manifest?.label, sizeBytes: e.manifest?.artifact?.sizeBytes, keyId: e.manifest?.artifact?.encryption?.keyId ?? null, status: e.status, reasons: e.reasons, artifacts: e.artifacts.map((a) => a.name) })))}\n`);
    return;
  }
  if (keys.size === 0) warn('authenticity cannot be checked: no encryption key configured');
  if (catalog.length === 0) {
    process.stdout.write(`No backups in ${store.description}\n`);
    return;
  }
  const rows = [['ID', 'KIND', 'CREATED', 'SIZE', 'KEY', 'ARTIFACTS', 'STATUS']];
  for (const e of catalog) {
    const m = e.manifest ?? {};
    rows.push([e.id, String(m.kind ?? '?'), String(m.createdAt ?? '?').replace(/\.\d{3}Z$/, 'Z'), formatBytes(m.artifact?.sizeBytes), m.artifact?.encryption?.keyId ?? (m.artifact ? 'UNENCRYPTED' : '?'), e.artifacts.map((a) => a.name).join(','), statusText(e)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  process.stdout.write(`${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n')}\n`);
}

/**
 * The base backups under base/, newest first, each with whether its record authenticates: the
 * id to give decrypt-object for a point-in-time recovery (the newest one taken before the time).
 */
async function cmdListBase(store, keys, options) {
  const ids = [];
  for await (const o of store.list('base/')) {
    const m = /^base\/([A-Za-z0-9-]{1,80})\/manifest\.json$/.exec(o.key);
    if (m) ids.push(m[1]);
  }
  const rows = new Array(ids.length);
  await mapLimit(ids, 8, async (id, i) => {
    const key = `base/${id}/manifest.json`;
    try {
      const json = await readJson(store, key);
      const problem = keys.size === 0 ? undefined : json.id !== id ? `it names ${String(json.id).slice(0, 80)}, not ${id}` : authProblem(json, key, keys);
      rows[i] = { id, createdAt: json.createdAt, timeline: json.timeline, startLsn: json.startLsn, stopLsn: json.stopLsn, pgMajor: json.pgMajor, artifact: json.artifact?.key, status: keys.size === 0 ? 'unchecked' : problem === undefined ? 'authenticated' : 'rejected', reason: problem };
    } catch (err) {
      rows[i] = { id, status: 'rejected', reason: err.message };
    }
  });
  rows.sort((a, b) => String(b.createdAt ?? '').localeCompare(String(a.createdAt ?? '')) || b.id.localeCompare(a.id));
  if (options.json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  if (keys.size === 0) warn('authenticity cannot be checked: no encryption key configured');
  if (rows.length === 0) {
    process.stdout.write(`No base backups in ${store.description}: point-in-time recovery needs one (bantay backup base)\n`);
    return;
  }
  const table = [['ID', 'CREATED', 'PG', 'TIMELINE', 'START LSN', 'OBJECT', 'STATUS']];
  for (const r of rows) {
    table.push([r.id, String(r.createdAt ?? '?').replace(/\.\d{3}Z$/, 'Z'), String(r.pgMajor ?? '?'), String(r.timeline ?? '?'), String(r.startLsn ?? '?'), String(r.artifact ?? '?'), r.status === 'rejected' ? `REJECTED: ${r.reason}` : r.status]);
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((t) => t[i].length)));
  process.stdout.write(`${table.map((t) => t.map((c, i) => (i === t.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n')}\n`);
}

async function cmdShow(store, keys, positional, options) {
  const { entry } = await findBackup(store, keys, need(positional, 1, 'ID'), options.kind);
  process.stdout.write(`Backup    ${entry.id}\nStatus    ${statusText(entry)}\n`);
  for (const a of entry.artifacts) {
    const enc = encryptionOf(entry.manifest ?? {}, a);
    process.stdout.write(`Artifact  ${a.name}  ${a.key}  ${formatBytes(a.entry.sizeBytes)}  ${enc === null ? 'UNENCRYPTED' : `key ${enc.keyId ?? '?'}`}\n`);
  }
  process.stdout.write(`${JSON.stringify(entry.manifest, null, 2)}\n`);
}

async function cmdDecrypt(store, keys, positional, options) {
  const { entry, catalog } = await findBackup(store, keys, need(positional, 1, 'ID'), options.kind);
  refuseRejected(entry);
  if (options.extract !== undefined) {
    if (!entry.manifest.files) throw fail('USAGE', `backup ${entry.id} is not a files backup; --extract restores application and uploads backups`);
    const r = await extractFiles(store, keys, entry, catalog, options.extract);
    note(`restored ${r.files} files (${formatBytes(r.bytes)}), ${r.entries} entries, from ${r.chain.join(' -> ')} into ${resolve(options.extract)}; every file matched its SHA-256`);
    return;
  }
  const artifact = pickArtifact(entry, options.artifact);
  await emit(await artifactPlaintext(store, keys, entry, artifact), options.out);
  note(`${entry.id} ${artifact.name}: verified (size and SHA-256 of stored and decrypted bytes match the manifest)${options.out ? ` -> ${resolve(options.out)}` : ''}`);
}

function need(positional, index, name) {
  const v = positional[index];
  if (v === undefined) throw fail('USAGE', `missing ${name} (see: node bantay-recover.mjs help)`);
  return v;
}

function warn(message) {
  process.stderr.write(`bantay-recover: warning: ${message}\n`);
}
function note(message) {
  process.stderr.write(`bantay-recover: ${message}\n`);
}

async function main(argv) {
  const { positional, options } = parseArgs(argv);
  const command = positional[0];
  if (command === undefined || command === 'help' || options.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const config = loadConfig(readEnv(process.cwd()), process.cwd());
  const { keys } = config;
  if (command === 'keys') {
    process.stdout.write(keys.size === 0 ? 'No key configured (BANTAY_ENCRYPTION_KEY[_FILE], BANTAY_DECRYPTION_KEYS).\n' : `${[...keys.keys()].join('\n')}\n`);
    return 0;
  }
  const store = openStore(config.store);
  if (!(await store.exists())) throw fail('NOT_FOUND', `the store ${store.description} does not exist (check BANTAY_STORE)`);
  if (command !== 'wal-fetch') note(`store ${store.description}; keys ${describeKeys(keys)}`);
  switch (command) {
    case 'list':
      await cmdList(store, keys, options);
      return 0;
    case 'show':
      await cmdShow(store, keys, positional, options);
      return 0;
    case 'list-base':
      await cmdListBase(store, keys, options);
      return 0;
    case 'decrypt':
      await cmdDecrypt(store, keys, positional, options);
      return 0;
    case 'decrypt-object': {
      const key = need(positional, 1, 'KEY');
      if (!isValidKey(key)) throw fail('USAGE', 'KEY must be an object key like wal/<system id>/000000010000000000000003.enc');
      await emit(await objectPlaintext(store, keys, key), options.out);
      note(`${key}: decrypted and authenticated`);
      return 0;
    }
    case 'wal-fetch':
      try {
        await walFetch(store, keys, need(positional, 1, '%f'), need(positional, 2, '%p'), { systemId: options['system-id'] });
        return 0;
      } catch (err) {
        if (err instanceof RecoverError && (err.code === 'NOT_FOUND' || err.code === 'USAGE')) throw err;
        // Exit status > 125 makes PostgreSQL abort recovery instead of taking a damaged or
        // unreadable segment for the end of the archive (and promoting too early).
        process.stderr.write(`bantay-recover: wal-fetch failed: ${err.message}\n`);
        return 126;
      }
    default:
      throw fail('USAGE', `unknown command ${command.slice(0, 40)} (see: node bantay-recover.mjs help)`);
  }
}

process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') {
    process.stderr.write('bantay-recover: FAILED: the program reading stdout stopped early; the output is incomplete\n');
    process.exit(1);
  }
});

// Failure until proven otherwise: if the work ever stalled and the event loop ran dry, Node
// would otherwise exit 0 with the output incomplete.
let finished = false;
process.exitCode = 1;
process.on('exit', () => {
  if (!finished) process.stderr.write('bantay-recover: FAILED: stopped before finishing (internal error); the output is incomplete\n');
});

main(process.argv.slice(2)).then(
  (code) => {
    finished = true;
    process.exitCode = code;
  },
  (err) => {
    finished = true;
    if (err instanceof RecoverError) {
      process.stderr.write(`bantay-recover: FAILED: ${err.message}\n${err.details.map((d) => `  ${d}\n`).join('')}`);
      process.exitCode = err.exit;
    } else {
      process.stderr.write(`bantay-recover: FAILED: ${err?.message ?? err}\n`);
      process.exitCode = 1;
    }
  },
);
