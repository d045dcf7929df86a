import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type pg from 'pg';
import { csvLine } from './csv.ts';

/**
 * The rows a user created, written as CSV files. Every query is parameterised: the user id
 * travels as a bind parameter ($1) and is never part of the SQL text, so no id can change what
 * a statement does. (COPY ... TO STDOUT cannot take bind parameters, which is why this pages
 * through ordinary SELECTs instead of pasting the id into a COPY statement.) Paging by primary
 * key (`id > $2 ... LIMIT`) keeps memory flat whatever the user's history.
 */
export interface UserTable {
  file: string;
  /** SELECT of one page: $1 is the user id, $2 the last id of the previous page (NULL first). */
  sql: string;
}

export const USER_TABLES: readonly UserTable[] = [
  {
    file: 'customers.csv',
    sql: 'SELECT c.* FROM public.customers c WHERE c.created_by = $1 AND ($2::bigint IS NULL OR c.id > $2) ORDER BY c.id LIMIT $3',
  },
  {
    file: 'sales.csv',
    sql: 'SELECT s.* FROM public.sales s WHERE s.created_by = $1 AND ($2::bigint IS NULL OR s.id > $2) ORDER BY s.id LIMIT $3',
  },
  {
    file: 'sale_items.csv',
    sql:
      'SELECT si.* FROM public.sale_items si JOIN public.sales s ON s.id = si.sale_id ' +
      'WHERE s.created_by = $1 AND ($2::bigint IS NULL OR si.id > $2) ORDER BY si.id LIMIT $3',
  },
];

const PAGE_ROWS = 1000;

/** Every value as PostgreSQL's text output (timestamps, numerics, arrays, jsonb), as COPY would write it. */
const asText: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export interface CsvFileResult {
  rows: number;
  bytes: number;
  sha256: string;
}

/**
 * Writes one table's rows for `userId` to `path` (header line first); resolves with its digest.
 * Cells that a spreadsheet would run as formulas are neutralised (csv.ts) unless `raw`.
 */
export async function writeUserTableCsv(
  client: pg.Client,
  table: UserTable,
  userId: string,
  path: string,
  pageRows = PAGE_ROWS,
  options: { raw?: boolean } = {},
): Promise<CsvFileResult> {
  const lineOptions = { neutraliseFormulas: options.raw !== true };
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  const hash = createHash('sha256');
  let bytes = 0;
  let rows = 0;
  const write = async (text: string): Promise<void> => {
    const chunk = Buffer.from(text, 'utf8');
    hash.update(chunk);
    bytes += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  };
  try {
    let lastId: string | null = null;
    let headerWritten = false;
    for (;;) {
      const page: pg.QueryResult<Record<string, string | null>> = await client.query({ text: table.sql, values: [userId, lastId, pageRows], types: asText });
      const columns = page.fields.map((f) => f.name);
      if (!headerWritten) {
        await write(csvLine(columns));
        headerWritten = true;
      }
      for (const row of page.rows) await write(csvLine(columns.map((c) => row[c] ?? null), lineOptions));
      rows += page.rows.length;
      if (page.rows.length < pageRows) break;
      lastId = page.rows[page.rows.length - 1]!.id ?? null;
    }
    await closeStream(out);
    return { rows, bytes, sha256: hash.digest('hex') };
  } catch (err) {
    out.destroy();
    throw err;
  }
}

async function closeStream(out: WriteStream): Promise<void> {
  out.end();
  await once(out, 'close');
}
