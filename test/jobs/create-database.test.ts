import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createEmptyDatabase } from '../../src/jobs/pg/database-admin.ts';

/**
 * createEmptyDatabase copies the live database's locale so a restored FBMS sorts text the same.
 * pg_database changed between releases (PostgreSQL 17 renamed daticulocale to datlocale and added
 * the builtin provider); a hand-written fake client plays each server's catalog row.
 */
function fakeClient(row: Record<string, unknown> | undefined) {
  const escaper = new pg.Client();
  const statements: string[] = [];
  const client = {
    escapeLiteral: (v: string) => escaper.escapeLiteral(v),
    escapeIdentifier: (v: string) => escaper.escapeIdentifier(v),
    async query(text: string) {
      statements.push(text);
      if (text.startsWith('SELECT')) return { rows: row === undefined ? [] : [{ d: row, encoding: 'UTF8' }] };
      return { rows: [] };
    },
  };
  return { client: client as unknown as pg.Client, created: () => statements.filter((s) => s.startsWith('CREATE DATABASE')) };
}

const libc = { datcollate: 'en_PH.UTF-8', datctype: 'en_PH.UTF-8' };

describe('createEmptyDatabase copies the live locale', () => {
  it('libc (every version)', async () => {
    const fake = fakeClient({ ...libc, datlocprovider: 'c' });
    await createEmptyDatabase(fake.client, 'copy', 'fbms');
    expect(fake.created()).toEqual([`CREATE DATABASE "copy" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'en_PH.UTF-8' LC_CTYPE 'en_PH.UTF-8'`]);
  });

  it('ICU on PostgreSQL 15/16 (daticulocale), with ICU rules on 16', async () => {
    const fake = fakeClient({ ...libc, datlocprovider: 'i', daticulocale: 'fil-PH', daticurules: '&a < b' });
    await createEmptyDatabase(fake.client, 'copy', 'fbms');
    expect(fake.created()[0]).toMatch(/ LOCALE_PROVIDER icu ICU_LOCALE 'fil-PH' ICU_RULES '&a < b'$/);
  });

  it('ICU on PostgreSQL 17+ (datlocale): the real locale, never "undefined"', async () => {
    const fake = fakeClient({ ...libc, datlocprovider: 'i', datlocale: 'fil-PH', daticurules: null });
    await createEmptyDatabase(fake.client, 'copy', 'fbms');
    expect(fake.created()[0]).toMatch(/ LOCALE_PROVIDER icu ICU_LOCALE 'fil-PH'$/);
  });

  it('the builtin provider of PostgreSQL 17+', async () => {
    const fake = fakeClient({ ...libc, datlocprovider: 'b', datlocale: 'C.UTF-8' });
    await createEmptyDatabase(fake.client, 'copy', 'fbms');
    expect(fake.created()[0]).toMatch(/ LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8'$/);
  });

  it('no model database: the server defaults', async () => {
    const fake = fakeClient(undefined);
    await createEmptyDatabase(fake.client, 'copy');
    expect(fake.created()).toEqual(['CREATE DATABASE "copy" TEMPLATE template0']);
  });
});
