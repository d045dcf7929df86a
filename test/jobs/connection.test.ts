import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { libpqEnv, withDatabase } from '../../src/jobs/pg/connection.ts';
import { tempDir } from '../support/job-deps.ts';

describe('libpqEnv: the connection of pg_dump/pg_restore is the one DATABASE_URL describes', () => {
  it('host, port, user, password, database and sslmode', () => {
    expect(libpqEnv('postgres://fbms:s%40cret@db.internal:5433/fbms?sslmode=require')).toMatchObject({
      PGHOST: 'db.internal',
      PGPORT: '5433',
      PGUSER: 'fbms',
      PGPASSWORD: 's@cret',
      PGDATABASE: 'fbms',
      PGSSLMODE: 'require',
    });
  });

  it('verify-full with a private CA (managed PostgreSQL): the CA and client certificate reach the tools too', () => {
    const dir = tempDir('bantay-ssl-');
    const [ca, cert, key] = ['rds-ca.pem', 'client.crt', 'client.key'].map((name) => join(dir, name));
    for (const file of [ca, cert, key]) writeFileSync(file!, 'not a real certificate');
    const env = libpqEnv(`postgres://fbms@db.internal/fbms?sslmode=verify-full&sslrootcert=${ca}&sslcert=${cert}&sslkey=${key}`);
    expect(env).toMatchObject({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: ca, PGSSLCERT: cert, PGSSLKEY: key });
  });

  it('another database on the same server', () => {
    expect(libpqEnv('postgres://fbms@db.internal/fbms', { database: 'bantay_verify_x' }).PGDATABASE).toBe('bantay_verify_x');
    expect(withDatabase('postgres://fbms:pw@db.internal:5432/fbms?sslmode=require', 'postgres')).toBe('postgres://fbms:pw@db.internal:5432/postgres?sslmode=require');
  });
});
