import type pg from 'pg';
import * as words from './fbms-data.ts';

/**
 * Server-side data generation for the FBMS fixture. Every row comes from INSERT ... SELECT over
 * generate_series with values derived from md5/sha512 of (seed, column, row id), so the same
 * seed and chunk sizes always give the same rows, and hundreds of MB take seconds, not hours.
 *
 * Rows are added in chunks; a chunk of scale 1 is ~12 users, 400 customers, 150 products,
 * 2,000 sales with ~6,000 items, 250 expenses with 300 receipts (4-28 KB of incompressible
 * "JPEG" bytes each, ~5 MB in all) and their ledger entries. New rows reference any earlier row.
 */
const perScale = { users: 12, customers: 400, products: 150, sales: 2000, expenses: 250, receipts: 300 } as const;
type Entity = keyof typeof perScale;
type Counts = Record<Entity, number>;

/** Session-local helpers (pg_temp): they vanish with the session and are never dumped. */
export async function installSeedFunctions(client: pg.Client, seed: number): Promise<void> {
  const s = Math.trunc(seed);
  await client.query(`
    CREATE OR REPLACE FUNCTION pg_temp.rnd(tag text, i bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
      AS $$ SELECT ('x' || substr(md5('${s}:' || tag || ':' || i), 1, 12))::bit(48)::bigint $$;
    CREATE OR REPLACE FUNCTION pg_temp.pick(items text[], tag text, i bigint) RETURNS text LANGUAGE sql IMMUTABLE
      AS $$ SELECT items[1 + pg_temp.rnd(tag, i) % cardinality(items)] $$;
    CREATE OR REPLACE FUNCTION pg_temp.price(product_id bigint) RETURNS numeric LANGUAGE sql IMMUTABLE
      AS $$ SELECT round(8 + (pg_temp.rnd('product.price', product_id) % CASE WHEN product_id % 10 < 8 THEN 20000 ELSE 150000 END) / 100.0, 2) $$;
    CREATE OR REPLACE FUNCTION pg_temp.moment(tag text, i bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE
      AS $$ SELECT timestamptz '2023-01-01 07:00:00+08' + (pg_temp.rnd(tag, i) % (730 * 86400)) * interval '1 second' $$;
    CREATE OR REPLACE FUNCTION pg_temp.noise(k bigint, len integer) RETURNS bytea LANGUAGE sql IMMUTABLE
      AS $$ SELECT substring(string_agg(sha512(int8send(${s}) || int8send(k) || int4send(j)), ''::bytea ORDER BY j)
                             FROM 1 FOR len)
              FROM generate_series(1, (len + 63) / 64) j $$;
    CREATE OR REPLACE FUNCTION pg_temp.pay_account(m public.payment_method) RETURNS text LANGUAGE sql IMMUTABLE
      AS $$ SELECT CASE m WHEN 'cash' THEN '1000' WHEN 'gcash' THEN '1010' WHEN 'maya' THEN '1010' ELSE '1020' END $$;
  `);
}

export async function dropSeedFunctions(client: pg.Client): Promise<void> {
  await client.query(`
    DROP FUNCTION IF EXISTS pg_temp.rnd(text, bigint), pg_temp.pick(text[], text, bigint), pg_temp.price(bigint),
      pg_temp.moment(text, bigint), pg_temp.noise(bigint, integer), pg_temp.pay_account(public.payment_method)`);
}

/** Adds one chunk of rows (see above); scale may be fractional, each table gets at least one row. */
export async function seedChunk(client: pg.Client, scale: number): Promise<void> {
  const before = await currentMaxIds(client);
  const added = {} as Counts;
  const total = {} as Counts;
  for (const entity of Object.keys(perScale) as Entity[]) {
    added[entity] = Math.max(1, Math.round(perScale[entity] * scale));
    total[entity] = before[entity] + added[entity];
  }
  for (const sql of [usersSql, customersSql, productsSql, salesSql, saleItemsSql, expensesSql, receiptsSql, ledgerSql]) {
    await client.query(sql(before, total));
  }
}

/** Identity and serial sequences must continue after the explicit ids the seeder chose. */
export async function syncSequences(client: pg.Client): Promise<void> {
  for (const table of ['public.users', 'public.customers', 'public.products', 'public.sales', 'public.expenses', 'public.receipts']) {
    await client.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), (SELECT max(id) FROM ${table}))`, [table]);
  }
}

async function currentMaxIds(client: pg.Client): Promise<Counts> {
  const { rows } = await client.query<Record<Entity, string>>(`SELECT
      (SELECT coalesce(max(id), 0) FROM public.users) AS users,
      (SELECT coalesce(max(id), 0) FROM public.customers) AS customers,
      (SELECT coalesce(max(id), 0) FROM public.products) AS products,
      (SELECT coalesce(max(id), 0) FROM public.sales) AS sales,
      (SELECT coalesce(max(id), 0) FROM public.expenses) AS expenses,
      (SELECT coalesce(max(id), 0) FROM public.receipts) AS receipts`);
  const row = rows[0]!;
  const counts = {} as Counts;
  for (const entity of Object.keys(perScale) as Entity[]) counts[entity] = Number(row[entity]);
  return counts;
}

const a = words.sqlTextArray;

function usersSql(from: Counts, to: Counts): string {
  return `INSERT INTO public.users (id, username, full_name, email, role, is_active, created_at)
    SELECT i, lower(replace(split_part(fn, ' ', 1), '-', '')) || '.' || lower(replace(ln, ' ', '')) || i, fn || ' ' || ln,
           CASE WHEN pg_temp.rnd('user.email', i) % 4 = 0 THEN NULL ELSE 'staff' || i || '@tindahan.ph' END,
           CASE WHEN i = 1 THEN 'owner'
                ELSE (ARRAY['manager', 'cashier', 'cashier', 'cashier', 'bookkeeper'])[1 + pg_temp.rnd('user.role', i) % 5] END::public.user_role,
           i = 1 OR pg_temp.rnd('user.active', i) % 10 <> 0,
           pg_temp.moment('user.at', i) - interval '1 year'
      FROM generate_series(${from.users + 1}, ${to.users}) i,
           LATERAL (SELECT pg_temp.pick(${a(words.firstNames)}, 'user.first', i) AS fn,
                           pg_temp.pick(${a(words.lastNames)}, 'user.last', i) AS ln) n
     ORDER BY i`;
}

function customersSql(from: Counts, to: Counts): string {
  return `INSERT INTO public.customers (id, name, phone, email, barangay, city, province, tags, credit_limit, loyalty, created_by, created_at)
    SELECT i, fn || ' ' || ln,
           '+639' || lpad((pg_temp.rnd('cust.phone', i) % 1000000000)::text, 9, '0'),
           CASE WHEN pg_temp.rnd('cust.email', i) % 3 = 0 THEN NULL
                ELSE lower(replace(split_part(fn, ' ', 1), '-', '')) || '.' || lower(replace(ln, ' ', '')) || (i % 97) || '@gmail.com' END,
           pg_temp.pick(${a(words.barangays)}, 'cust.brgy', i), split_part(place, '|', 1), split_part(place, '|', 2),
           (SELECT coalesce(array_agg(t ORDER BY t), '{}') FROM unnest(${a(words.customerTags)}) t
             WHERE pg_temp.rnd('cust.tag.' || t, i) % 5 = 0),
           (pg_temp.rnd('cust.credit', i) % 21) * 500.00,
           jsonb_build_object('points', pg_temp.rnd('cust.points', i) % 5000,
                              'tier', pg_temp.pick(ARRAY['bronze', 'silver', 'gold'], 'cust.tier', i),
                              'prefers', pg_temp.pick(ARRAY['cash', 'gcash', 'maya'], 'cust.pref', i)),
           1 + pg_temp.rnd('cust.by', i) % ${to.users},
           pg_temp.moment('cust.at', i)
      FROM generate_series(${from.customers + 1}, ${to.customers}) i,
           LATERAL (SELECT pg_temp.pick(${a(words.firstNames)}, 'cust.first', i) AS fn,
                           pg_temp.pick(${a(words.lastNames)}, 'cust.last', i) AS ln,
                           pg_temp.pick(${a(words.cities)}, 'cust.city', i) AS place) n
     ORDER BY i`;
}

function productsSql(from: Counts, to: Counts): string {
  const n = words.products.length;
  return `INSERT INTO public.products (id, sku, name, category, unit_price, cost, stock_qty, tags, attributes, is_active, created_at)
    SELECT i, 'SKU-' || lpad(i::text, 6, '0'),
           split_part(p, '|', 1) || CASE WHEN i > ${n} THEN ' (variant ' || ((i - 1) / ${n}) || ')' ELSE '' END,
           split_part(p, '|', 2), pg_temp.price(i), round(pg_temp.price(i) * 0.78, 2),
           (pg_temp.rnd('prod.stock', i) % 500)::int,
           (SELECT coalesce(array_agg(t ORDER BY t), '{}') FROM unnest(${a(words.productTags)}) t
             WHERE pg_temp.rnd('prod.tag.' || t, i) % 4 = 0),
           jsonb_build_object('barcode', '480' || lpad((pg_temp.rnd('prod.ean', i) % 10000000000)::text, 10, '0'),
                              'unit', pg_temp.pick(ARRAY['pc', 'pack', 'sachet', 'kg', 'tray', 'bottle'], 'prod.unit', i),
                              'vat_exempt', pg_temp.rnd('prod.vat', i) % 8 = 0),
           pg_temp.rnd('prod.active', i) % 20 <> 0,
           pg_temp.moment('prod.at', i) - interval '1 year'
      FROM generate_series(${from.products + 1}, ${to.products}) i,
           LATERAL (SELECT (${a(words.products)})[1 + (i - 1) % ${n}] AS p) n
     ORDER BY i`;
}

/** Totals start at zero; the sale_items trigger adds each sale's items. */
function salesSql(from: Counts, to: Counts): string {
  return `INSERT INTO public.sales (id, customer_id, created_by, payment_method, sold_at, discount, notes, metadata, created_at)
    SELECT i,
           CASE WHEN pg_temp.rnd('sale.walkin', i) % 5 = 0 THEN NULL ELSE 1 + pg_temp.rnd('sale.cust', i) % ${to.customers} END,
           1 + pg_temp.rnd('sale.by', i) % ${to.users},
           (ARRAY['cash', 'cash', 'cash', 'gcash', 'gcash', 'maya', 'card', 'bank_transfer'])[1 + pg_temp.rnd('sale.pay', i) % 8]::public.payment_method,
           at,
           CASE WHEN pg_temp.rnd('sale.disc', i) % 10 = 0 THEN (pg_temp.rnd('sale.discamt', i) % 500) / 100.0 ELSE 0 END,
           CASE WHEN pg_temp.rnd('sale.note', i) % 6 = 0 THEN pg_temp.pick(${a(words.saleNotes)}, 'sale.notes', i) END,
           jsonb_build_object('terminal', 'POS-' || (1 + pg_temp.rnd('sale.pos', i) % 3),
                              'channel', pg_temp.pick(ARRAY['walk-in', 'facebook', 'viber', 'phone'], 'sale.channel', i),
                              'or_printed', pg_temp.rnd('sale.or', i) % 2 = 0),
           at
      FROM generate_series(${from.sales + 1}, ${to.sales}) i,
           LATERAL (SELECT pg_temp.moment('sale.at', i) AS at) t
     ORDER BY i`;
}

/** 1-5 items per sale; unit prices are the products' (minimum 8.00, above any discount). */
function saleItemsSql(from: Counts, to: Counts): string {
  return `INSERT INTO public.sale_items (sale_id, product_id, quantity, unit_price)
    SELECT s, p, q, pg_temp.price(p)
      FROM generate_series(${from.sales + 1}, ${to.sales}) s CROSS JOIN generate_series(1, 5) j,
           LATERAL (SELECT 1 + pg_temp.rnd('item.prod', s * 8 + j) % ${to.products} AS p,
                           CASE WHEN pg_temp.rnd('item.bulk', s * 8 + j) % 10 < 8 THEN 1 + pg_temp.rnd('item.qty', s * 8 + j) % 3
                                ELSE 1 + pg_temp.rnd('item.qty', s * 8 + j) % 24 END::int AS q) x
     WHERE j <= 1 + pg_temp.rnd('sale.items', s) % 5
     ORDER BY s, j`;
}

function expensesSql(from: Counts, to: Counts): string {
  return `INSERT INTO public.expenses (id, category, description, vendor, amount, paid_via, incurred_on, recorded_by, created_at)
    SELECT i, split_part(k, '|', 1), split_part(k, '|', 1) || ' — ' || to_char(d, 'FMMonth YYYY'), split_part(k, '|', 3),
           round(150 + (pg_temp.rnd('exp.amount', i) % 2500000) / 100.0, 2),
           (ARRAY['cash', 'gcash', 'maya', 'bank_transfer'])[1 + pg_temp.rnd('exp.pay', i) % 4]::public.payment_method,
           d, 1 + pg_temp.rnd('exp.by', i) % ${to.users}, (d + time '17:30') AT TIME ZONE 'Asia/Manila'
      FROM generate_series(${from.expenses + 1}, ${to.expenses}) i,
           LATERAL (SELECT pg_temp.pick(${a(words.expenseKinds)}, 'exp.kind', i) AS k,
                           date '2023-01-01' + (pg_temp.rnd('exp.day', i) % 730)::int AS d) x
     ORDER BY i`;
}

/** Every new expense gets a receipt, the first ones a second page. JPEG markers around noise. */
function receiptsSql(from: Counts, to: Counts): string {
  const newExpenses = to.expenses - from.expenses;
  return `INSERT INTO public.receipts (id, expense_id, file_name, mime_type, image, byte_size, uploaded_by, uploaded_at)
    SELECT r, e, 'resibo-' || lpad(r::text, 7, '0') || '.jpg', 'image/jpeg',
           '\\xffd8ffe000104a46494600'::bytea || pg_temp.noise(r, len) || '\\xffd9'::bytea, len + 13,
           1 + pg_temp.rnd('rcpt.by', r) % ${to.users},
           (date '2023-01-01' + (pg_temp.rnd('exp.day', e) % 730)::int + time '18:00') AT TIME ZONE 'Asia/Manila'
      FROM generate_series(${from.receipts + 1}, ${to.receipts}) r,
           LATERAL (SELECT ${from.expenses} + 1 + (r - ${from.receipts} - 1) % ${newExpenses} AS e,
                           (4096 + pg_temp.rnd('rcpt.size', r) % 24576)::int AS len) x
     ORDER BY r`;
}

/** Double entry: a sale debits the wallet and credits revenue and output VAT; an expense the reverse. */
function ledgerSql(from: Counts, to: Counts): string {
  return `INSERT INTO accounting.ledger_entries (entry_date, account_code, debit, credit, sale_id, expense_id, memo)
    SELECT entry_date, account_code, debit, credit, sale_id, expense_id, memo FROM (
      SELECT 1 AS kind, s.id AS ref, side, (s.sold_at AT TIME ZONE 'Asia/Manila')::date AS entry_date,
             CASE side WHEN 1 THEN pg_temp.pay_account(s.payment_method) WHEN 2 THEN '4000' ELSE '2100' END AS account_code,
             CASE side WHEN 1 THEN s.total ELSE 0 END AS debit,
             CASE side WHEN 1 THEN 0 WHEN 2 THEN s.total - s.vat ELSE s.vat END AS credit,
             s.id AS sale_id, NULL::bigint AS expense_id, 'Benta ' || s.invoice_no AS memo
        FROM public.sales s CROSS JOIN generate_series(1, 3) side
       WHERE s.id BETWEEN ${from.sales + 1} AND ${to.sales}
      UNION ALL
      SELECT 2, e.id, side, e.incurred_on,
             CASE side WHEN 1 THEN split_part(pg_temp.pick(${a(words.expenseKinds)}, 'exp.kind', e.id), '|', 2)
                       ELSE pg_temp.pay_account(e.paid_via) END,
             CASE side WHEN 1 THEN e.amount ELSE 0 END, CASE side WHEN 1 THEN 0 ELSE e.amount END,
             NULL, e.id, 'Gastos: ' || e.description
        FROM public.expenses e CROSS JOIN generate_series(1, 2) side
       WHERE e.id BETWEEN ${from.expenses + 1} AND ${to.expenses}
    ) entries
    ORDER BY kind, ref, side`;
}
