import type pg from 'pg';
import { BantayError, ErrorCode } from '../errors.ts';
import { fbmsSchemaSql } from './fbms-schema.ts';
import { dropSeedFunctions, installSeedFunctions, seedChunk, syncSequences } from './fbms-seed.ts';

/**
 * An FBMS-like database for tests and benchmarks: `createFbmsSchema` builds the schema
 * (src/dev/fbms-schema.ts), `seedFbmsData` fills it deterministically (src/dev/fbms-seed.ts),
 * `tableChecksums` fingerprints every table so a restored copy can be compared with its source.
 */

/** The fixture's tables, schema-qualified, parents before children. */
export const fbmsCoreTables: readonly string[] = [
  'public.users',
  'public.customers',
  'public.products',
  'public.sales',
  'public.sale_items',
  'public.expenses',
  'public.receipts',
  'accounting.accounts',
  'accounting.ledger_entries',
];

export interface SeedFbmsOptions {
  /** Size of the first batch: 1 (default) is ~5,000 rows, ~10 MB on disk; N multiplies row counts. Fractions allowed. */
  scale?: number;
  /** After the first batch, keep adding batches until pg_database_size reaches about this many bytes. */
  targetBytes?: number;
  /** Same seed, same options: same rows. Default 1. */
  seed?: number;
}

export interface SeedFbmsResult {
  /** Exact row counts of fbmsCoreTables after seeding. */
  rowCounts: Record<string, number>;
}

/** Largest batch while growing towards targetBytes, so the size check runs every ~100 MB. */
const maxGrowScale = 20;
const minGrowScale = 0.02;

/** Creates the schema in the client's database, which must not have it yet. One transaction. */
export async function createFbmsSchema(client: pg.Client): Promise<void> {
  await client.query(fbmsSchemaSql);
}

/** Adds deterministic FBMS data. Run on a database made by createFbmsSchema; may be called again to append. */
export async function seedFbmsData(client: pg.Client, options: SeedFbmsOptions = {}): Promise<SeedFbmsResult> {
  const { scale = 1, targetBytes, seed = 1 } = options;
  if (!(Number.isFinite(scale) && scale > 0)) throw new BantayError(ErrorCode.InvalidInput, `scale must be > 0, got ${scale}`);
  if (!Number.isSafeInteger(seed)) throw new BantayError(ErrorCode.InvalidInput, `seed must be an integer, got ${seed}`);
  if (targetBytes !== undefined && !(targetBytes >= 0)) throw new BantayError(ErrorCode.InvalidInput, 'targetBytes must be >= 0');
  await installSeedFunctions(client, seed);
  try {
    const sizeBefore = await databaseSize(client);
    await seedChunk(client, scale);
    if (targetBytes !== undefined) {
      const size = await databaseSize(client);
      await growTo(client, targetBytes, size, Math.max(1, size - sizeBefore) / scale);
    }
    await syncSequences(client);
    await client.query('ANALYZE');
    return { rowCounts: await countRows(client) };
  } finally {
    await dropSeedFunctions(client);
  }
}

/** Adds batches sized from the growth measured so far until the database reaches targetBytes. */
async function growTo(client: pg.Client, targetBytes: number, size: number, bytesPerScale: number): Promise<void> {
  let current = size;
  let perScale = bytesPerScale;
  while (current < targetBytes) {
    const scale = Math.min(maxGrowScale, Math.max(minGrowScale, (targetBytes - current) / perScale));
    await seedChunk(client, scale);
    const next = await databaseSize(client);
    if (next > current) perScale = (next - current) / scale;
    current = next;
  }
}

async function databaseSize(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ size: string }>('SELECT pg_database_size(current_database()) AS size');
  return Number(rows[0]!.size);
}

async function countRows(client: pg.Client): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of fbmsCoreTables) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    counts[table] = Number(rows[0]!.n);
  }
  return counts;
}

export interface TableChecksum {
  rows: number;
  /** md5 over the sorted md5s of every row's text form: independent of physical row order. */
  md5: string;
}

/**
 * Fingerprints every ordinary and partitioned table outside the system schemas, keyed
 * "schema.table". Two databases with equal results hold the same rows (as text, in this
 * session's settings: compare both sides through clients with the same TimeZone etc.).
 */
export async function tableChecksums(client: pg.Client): Promise<Record<string, TableChecksum>> {
  const { rows: tables } = await client.query<{ schema: string; name: string }>(`
    SELECT n.nspname AS schema, c.relname AS name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
     ORDER BY 1, 2`);
  const result: Record<string, TableChecksum> = {};
  for (const { schema, name } of tables) {
    const qualified = `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(name)}`;
    const { rows } = await client.query<{ rows: string; md5: string }>(
      `SELECT count(*) AS rows, md5(coalesce(string_agg(h, '' ORDER BY h), '')) AS md5
         FROM (SELECT md5(t::text) AS h FROM ${qualified} t) x`,
    );
    result[`${schema}.${name}`] = { rows: Number(rows[0]!.rows), md5: rows[0]!.md5 };
  }
  return result;
}
