import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { redactSecrets, registerSecret } from '../../src/log/redact.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, logger: createLogger({ format: 'json', level: 'debug', destination: destination as unknown as NodeJS.WritableStream }) };
}

describe('redactSecrets', () => {
  it('masks passwords inside connection URLs', () => {
    expect(redactSecrets('postgres://fbms:s3cr3t%21@db:5432/fbms')).toBe('postgres://fbms:***@db:5432/fbms');
    expect(redactSecrets('connect to postgresql://u:p@h/d failed')).toBe('connect to postgresql://u:***@h/d failed');
  });

  it('masks Slack tokens, bearer tokens and password= pairs', () => {
    expect(redactSecrets('xoxb-1234-5678-abcdef')).not.toContain('1234');
    expect(redactSecrets('xapp-1-A0-123-abc')).toBe('xapp-***');
    expect(redactSecrets('Authorization: Bearer abc.def.ghi')).toBe('Authorization: Bearer ***');
    expect(redactSecrets('PGPASSWORD=hunter2 pg_dump')).toBe('PGPASSWORD=*** pg_dump');
  });

  it('masks registered secret values wherever they appear', () => {
    registerSecret('correct-horse-battery-staple');
    expect(redactSecrets('key is correct-horse-battery-staple!')).toBe('key is ***!');
  });
});

describe('createLogger', () => {
  it('keeps secrets out of messages, fields, nested objects and errors', () => {
    registerSecret('Zm9vYmFyYmF6cXV4cXV1eA==');
    const { lines, logger } = capture();
    const err = new Error('auth failed for postgres://fbms:pa55word@db/fbms', { cause: new Error('token xoxb-999-888-zzz') });
    logger.error({ err, config: { databaseUrl: 'postgres://a:pa55word@h/d', password: 'pa55word', nested: { token: 'abc123456' } } }, 'failed: key Zm9vYmFyYmF6cXV4cXV1eA==');
    logger.info('url postgres://x:pa55word@y/z');
    const out = lines.join('');
    expect(out).not.toContain('pa55word');
    expect(out).not.toContain('abc123456');
    expect(out).not.toContain('xoxb-999');
    expect(out).not.toContain('Zm9vYmFyYmF6cXV4cXV1eA==');
    expect(out).toContain('auth failed for postgres://fbms:***@db/fbms');
  });

  it('does not mask harmless fields that merely contain a secret-like word', () => {
    const { lines, logger } = capture();
    logger.info({ passed: true, keyId: 'k1:0123456789abcdef', bypass: 'no', dbPassword: 'x1y2z3w4' }, 'checks');
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({ passed: true, keyId: 'k1:0123456789abcdef', bypass: 'no', dbPassword: '***' });
  });
});
