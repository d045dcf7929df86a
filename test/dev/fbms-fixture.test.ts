import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgBinary } from '../../src/dev/pg-binaries.ts';
import { startPgCluster, type PgCluster } from '../../src/dev/pg-cluster.ts';
import { createFbmsSchema, fbmsCoreTables, seedFbmsData, tableChecksums, type SeedFbmsResult } from '../../src/dev/fbms-fixture.ts';

const run = promisify(execFile);

let cluster: PgCluster;
let sourceUrl: string;
let source: pg.Client;
let seeded: SeedFbmsResult;
let workDir: string;

async function connected(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connected(url);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Connection for libpq tools: everything in argv except the password, which goes in env. */
function libpq(url: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const args = ['-h', u.hostname, '-p', u.port, '-U', decodeURIComponent(u.username), '-d', u.pathname.slice(1)];
  return { args, env: { ...process.env, PGPASSWORD: decodeURIComponent(u.password) } };
}

beforeAll(async () => {
  cluster = await startPgCluster();
  workDir = await mkdtemp(join(tmpdir(), 'bantay-fixture-test-'));
  sourceUrl = await cluster.createDatabase('fbms_source');
  source = await connected(sourceUrl);
  await createFbmsSchema(source);
  seeded = await seedFbmsData(source, { scale: 1, seed: 42 });
});

afterAll(async () => {
  await source?.end();
  await cluster?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('FBMS fixture', () => {
  it('fills every core table', async () => {
    expect(Object.keys(seeded.rowCounts).sort()).toEqual([...fbmsCoreTables].sort());
    for (const table of fbmsCoreTables) expect(seeded.rowCounts[table], table).toBeGreaterThan(0);
    expect(seeded.rowCounts['public.sales']).toBeGreaterThanOrEqual(1000);
    const { rows } = await source.query<{ n: string }>('SELECT count(*) AS n FROM public.sale_items');
    expect(Number(rows[0]!.n)).toBe(seeded.rowCounts['public.sale_items']);
  });

  it('has the enum, view, sequence, triggers, generated column and accounting schema', async () => {
    const one = async (sql: string) => (await source.query(sql)).rows[0] as Record<string, unknown>;
    expect(await one("SELECT enum_range(NULL::public.payment_method)::text AS r")).toEqual({ r: '{cash,gcash,maya,card,bank_transfer}' });
    expect(await one("SELECT count(*)::int AS n FROM pg_views WHERE schemaname = 'public' AND viewname = 'daily_sales'")).toEqual({ n: 1 });
    expect(await one("SELECT count(*)::int AS n FROM pg_sequences WHERE sequencename = 'invoice_number_seq'")).toEqual({ n: 1 });
    const triggers = await source.query("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1");
    expect(triggers.rows.map((r) => r.tgname)).toEqual(['customers_set_updated_at', 'products_set_updated_at', 'sale_items_add_to_totals']);
    expect(await one("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'accounting'")).toEqual({ n: 2 });
    expect(await one("SELECT attgenerated AS g FROM pg_attribute WHERE attrelid = 'public.sale_items'::regclass AND attname = 'line_total'")).toEqual({ g: 's' });
    const view = await one('SELECT sum(sale_count)::int AS n FROM public.daily_sales');
    expect(view.n).toBe(seeded.rowCounts['public.sales']);
  });

  it('holds realistic values: invoice numbers, totals, receipts, created_by, unicode', async () => {
    const sale = await source.query("SELECT invoice_no FROM public.sales ORDER BY id LIMIT 1");
    expect(sale.rows[0].invoice_no).toMatch(/^INV-\d{8}$/);
    const mismatched = await source.query(`
      SELECT s.id FROM public.sales s JOIN public.sale_items i ON i.sale_id = s.id
       GROUP BY s.id HAVING s.subtotal <> sum(i.line_total) OR s.total <> s.subtotal - s.discount`);
    expect(mismatched.rowCount).toBe(0);
    const receipts = await source.query('SELECT min(length(image)) AS min, bool_and(length(image) = byte_size) AS sized FROM public.receipts');
    expect(receipts.rows[0]).toMatchObject({ sized: true });
    expect(receipts.rows[0].min).toBeGreaterThan(4000);
    const createdBy = await source.query('SELECT count(DISTINCT created_by)::int AS n FROM public.customers');
    expect(createdBy.rows[0].n).toBeGreaterThan(1);
    const unicode = await source.query("SELECT count(*)::int AS n FROM public.customers WHERE name LIKE '%ñ%' OR city LIKE '%ñ%'");
    expect(unicode.rows[0].n).toBeGreaterThan(0);
    const books = await source.query('SELECT sum(debit) = sum(credit) AS balanced FROM accounting.ledger_entries');
    expect(books.rows[0].balanced).toBe(true);
  });

  it('is deterministic for a seed', async () => {
    const url = await cluster.createDatabase('fbms_again');
    const again = await withClient(url, async (client) => {
      await createFbmsSchema(client);
      await seedFbmsData(client, { scale: 1, seed: 42 });
      return tableChecksums(client);
    });
    expect(again).toEqual(await tableChecksums(source));
    await cluster.dropDatabase('fbms_again');
  });

  it('grows towards targetBytes', async () => {
    const url = await cluster.createDatabase('fbms_sized');
    const size = await withClient(url, async (client) => {
      await createFbmsSchema(client);
      await seedFbmsData(client, { scale: 0.5, targetBytes: 40 * 1024 ** 2 });
      return Number((await client.query('SELECT pg_database_size(current_database()) AS b')).rows[0].b);
    });
    expect(size).toBeGreaterThanOrEqual(40 * 1024 ** 2);
    expect(size).toBeLessThan(60 * 1024 ** 2);
    await cluster.dropDatabase('fbms_sized');
  });

  it('survives pg_dump -Fc and pg_restore with identical table checksums', async () => {
    const dumpFile = join(workDir, 'fbms.dump');
    const from = libpq(sourceUrl);
    await run(pgBinary('pg_dump'), ['-Fc', '-f', dumpFile, ...from.args], { env: from.env });
    expect((await stat(dumpFile)).size).toBeGreaterThan(1024 * 1024);

    const targetUrl = await cluster.createDatabase('fbms_restored');
    const to = libpq(targetUrl);
    await run(pgBinary('pg_restore'), ['--exit-on-error', '--no-owner', ...to.args, dumpFile], { env: to.env });

    const restored = await withClient(targetUrl, (client) => tableChecksums(client));
    expect(restored).toEqual(await tableChecksums(source));
    expect(Object.keys(restored)).toEqual(expect.arrayContaining([...fbmsCoreTables]));

    // Sequences and triggers come back too: the next sale gets the next invoice number and its total.
    const next = async (client: pg.Client) => {
      const { rows } = await client.query("INSERT INTO public.sales (created_by, payment_method, sold_at) VALUES (1, 'gcash', now()) RETURNING id, invoice_no");
      await client.query('INSERT INTO public.sale_items (sale_id, product_id, quantity, unit_price) VALUES ($1, 1, 2, 50)', [rows[0].id]);
      const sale = await client.query('SELECT invoice_no, total FROM public.sales WHERE id = $1', [rows[0].id]);
      return { id: rows[0].id, ...sale.rows[0] };
    };
    const restoredNext = await withClient(targetUrl, next);
    expect(restoredNext).toMatchObject({ total: '100.00' });
    await source.query('BEGIN');
    try {
      expect(await next(source)).toEqual(restoredNext);
    } finally {
      await source.query('ROLLBACK');
    }
  });
});
