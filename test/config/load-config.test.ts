import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, requireDatabaseUrl } from '../../src/config/load-config.ts';
import { BantayError, ErrorCode } from '../../src/errors.ts';

const KEY = Buffer.alloc(32, 7).toString('base64');
const cwd = mkdtempSync(join(tmpdir(), 'bantay-config-'));

function configError(env: Record<string, string>): BantayError {
  try {
    loadConfig({ env, cwd, dotenv: false });
  } catch (err) {
    expect(err).toBeInstanceOf(BantayError);
    expect((err as BantayError).code).toBe(ErrorCode.ConfigInvalid);
    return err as BantayError;
  }
  throw new Error('expected a configuration error');
}

describe('loadConfig', () => {
  it('works with an empty environment: local store under ./var/backups, embedded state, no key', () => {
    const config = loadConfig({ env: {}, cwd, dotenv: false });
    expect(config.store).toEqual({ type: 'local', dir: join(cwd, 'var/backups') });
    expect(config.dataDir).toBe(join(cwd, 'var'));
    expect(config.stateUrl).toBeUndefined();
    expect(config.keyRing.primary).toBeUndefined();
  });

  it('lists every problem at once, each with the variable to fix', () => {
    const err = configError({
      DATABASE_URL: 'mysql://root:hunter2hunter2@db/fbms',
      BANTAY_STORE: 'ftp://example/backups',
      BANTAY_ENCRYPTION_KEY: 'c2hvcnQ=',
      S3_FORCE_PATH_STYLE: 'maybe',
      S3_PART_SIZE_MB: '0',
      BANTAY_LOG_LEVEL: 'loud',
    });
    const variables = err.details.map((d) => d.split(':')[0]);
    expect(variables.sort()).toEqual(
      ['BANTAY_ENCRYPTION_KEY', 'BANTAY_LOG_LEVEL', 'BANTAY_STORE', 'DATABASE_URL', 'S3_FORCE_PATH_STYLE', 'S3_PART_SIZE_MB'].sort(),
    );
    expect(err.message).toContain('6 problems');
  });

  it('never echoes secret values in errors', () => {
    const err = configError({
      DATABASE_URL: 'mysql://root:hunter2hunter2@db/fbms',
      BANTAY_ENCRYPTION_KEY: 'dG9vLXNob3J0LXNlY3JldC12YWx1ZQ==',
      BANTAY_DECRYPTION_KEYS: `${KEY},bm90LWEta2V5LWF0LWFsbA==`,
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      BANTAY_STORE: 's3://bucket',
    });
    const text = [err.message, ...err.details].join('\n');
    for (const secret of ['hunter2hunter2', 'dG9vLXNob3J0LXNlY3JldC12YWx1ZQ==', KEY, 'bm90LWEta2V5LWF0LWFsbA==']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('BANTAY_DECRYPTION_KEYS (key 2)');
    expect(text).toContain('AWS_SECRET_ACCESS_KEY');
  });

  it('parses s3://bucket/prefix with endpoint, path style and credentials', () => {
    const config = loadConfig({
      env: {
        BANTAY_STORE: 's3://fbms-backups/prod/db/',
        S3_ENDPOINT: 'http://127.0.0.1:9000',
        AWS_ACCESS_KEY_ID: 'id',
        AWS_SECRET_ACCESS_KEY: 'secret',
        S3_SSE: 'AES256',
      },
      cwd,
      dotenv: false,
    });
    expect(config.store).toMatchObject({
      type: 's3',
      bucket: 'fbms-backups',
      prefix: 'prod/db',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      serverSideEncryption: 'AES256',
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
  });

  it('rejects bucket names and prefixes that could escape', () => {
    const err = configError({ BANTAY_STORE: 's3://Bad_Bucket/../etc' });
    expect(err.details.join('\n')).toMatch(/bucket name/);
    expect(err.details.join('\n')).toMatch(/prefix/);
  });

  it('accepts file:// URLs and relative paths', () => {
    expect(loadConfig({ env: { BANTAY_STORE: 'file:///srv/backups' }, cwd, dotenv: false }).store).toEqual({ type: 'local', dir: '/srv/backups' });
    expect(loadConfig({ env: { BANTAY_STORE: 'b' }, cwd, dotenv: false }).store).toEqual({ type: 'local', dir: join(cwd, 'b') });
  });

  it('reads the key from BANTAY_ENCRYPTION_KEY_FILE and retired keys from BANTAY_DECRYPTION_KEYS', () => {
    const file = join(cwd, 'key');
    writeFileSync(file, `${KEY}\n`);
    const retired = Buffer.alloc(32, 9).toString('base64');
    const config = loadConfig({ env: { BANTAY_ENCRYPTION_KEY_FILE: file, BANTAY_DECRYPTION_KEYS: retired }, cwd, dotenv: false });
    expect(config.keyRing.primary?.id).toMatch(/^k1:[0-9a-f]{16}$/);
    expect(config.keyRing.ids()).toHaveLength(2);
  });

  it('a key file that cannot be read (a directory, no permission) is one more listed problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bantay-keydir-'));
    const err = configError({ BANTAY_ENCRYPTION_KEY_FILE: dir, BANTAY_STORE: 's3://UPPER' });
    const variables = err.details.map((d) => d.split(':')[0]);
    expect(variables).toEqual(expect.arrayContaining(['BANTAY_ENCRYPTION_KEY_FILE', 'BANTAY_STORE']));
  });

  it('refuses both a key and a key file', () => {
    const err = configError({ BANTAY_ENCRYPTION_KEY: KEY, BANTAY_ENCRYPTION_KEY_FILE: '/nope' });
    expect(err.details.join()).toContain('not both');
  });

  it('reads .env, with the real environment winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bantay-dotenv-'));
    writeFileSync(join(dir, '.env'), 'BANTAY_STORE=from-dotenv\nBANTAY_DATA_DIR=state-from-dotenv\n');
    const config = loadConfig({ env: { BANTAY_DATA_DIR: '/data' }, cwd: dir });
    expect(config.store).toEqual({ type: 'local', dir: join(dir, 'from-dotenv') });
    expect(config.dataDir).toBe('/data');
  });

  it('requireDatabaseUrl names the variable', () => {
    const config = loadConfig({ env: {}, cwd, dotenv: false });
    expect(() => requireDatabaseUrl(config)).toThrow(BantayError);
    try {
      requireDatabaseUrl(config);
    } catch (err) {
      expect((err as BantayError).details[0]).toMatch(/^DATABASE_URL: is required/);
    }
  });
});
