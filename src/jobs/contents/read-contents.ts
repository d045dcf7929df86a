import pg from 'pg';
import type { ManifestContents } from '../../catalog/manifest.ts';
import { digestLargeObjects } from './large-objects.ts';
import { OBJECT_COUNTS, TABLE_INHERITANCE, USER_RELATIONS } from './catalog-queries.ts';
import { qualifiedName } from '../../catalog/table-name.ts';

export interface SequenceState {
  lastValue: string;
  isCalled: boolean;
}

/** What a database holds, as backup records it and verify compares it; keys are qualifiedName()s. */
export interface DatabaseContents extends Omit<ManifestContents, 'keyFormat' | 'sequences'> {
  /** Exact rows of every ordinary table and partition, FROM ONLY (an inheritance parent's own rows). */
  tables: Record<string, number>;
  sequences: Record<string, SequenceState>;
}

interface Relation {
  schema: string;
  name: string;
  kind: 'r' | 'p' | 'S' | 'm';
  populated: boolean;
}

/**
 * Reads everything in DatabaseContents in the client's current transaction (REPEATABLE READ:
 * the dump's exported snapshot at backup, a quiet restored copy at verify). Sequences are read
 * too, but they are not transactional: at backup, read them with readSequences around the dump.
 */
export async function readDatabaseContents(client: pg.Client): Promise<DatabaseContents> {
  const relations = (await client.query<Relation>(USER_RELATIONS)).rows;
  const tables: Record<string, number> = {};
  const materializedViews: Record<string, boolean> = {};
  for (const r of relations) {
    const key = qualifiedName(r.schema, r.name);
    if (r.kind === 'r') tables[key] = await countOnly(client, r);
    else if (r.kind === 'm') materializedViews[key] = r.populated;
  }
  const { partitions, inheritance } = await readInheritance(client);
  const counts = (await client.query<{ functions: string; triggers: string; indexes: string }>(OBJECT_COUNTS)).rows[0]!;
  return {
    tables,
    partitions,
    inheritance,
    sequences: await readSequences(client, relations),
    largeObjects: await digestLargeObjects(client),
    materializedViews,
    objects: { functions: Number(counts.functions), triggers: Number(counts.triggers), indexes: Number(counts.indexes) },
  };
}

async function countOnly(client: pg.Client, r: Relation): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ONLY ${client.escapeIdentifier(r.schema)}.${client.escapeIdentifier(r.name)}`);
  return Number(rows[0]!.n);
}

/** last_value and is_called of every user sequence, as of now (sequences ignore snapshots). */
export async function readSequences(client: pg.Client, relations?: readonly Relation[]): Promise<Record<string, SequenceState>> {
  const all = relations ?? (await client.query<Relation>(USER_RELATIONS)).rows;
  const out: Record<string, SequenceState> = {};
  for (const r of all) {
    if (r.kind !== 'S') continue;
    const { rows } = await client.query<SequenceState>(
      `SELECT last_value::text AS "lastValue", is_called AS "isCalled" FROM ${client.escapeIdentifier(r.schema)}.${client.escapeIdentifier(r.name)}`,
    );
    out[qualifiedName(r.schema, r.name)] = rows[0]!;
  }
  return out;
}

async function readInheritance(client: pg.Client): Promise<Pick<DatabaseContents, 'partitions' | 'inheritance'>> {
  const { rows } = await client.query<{ parentSchema: string; parentName: string; parentKind: string; schema: string; name: string }>(TABLE_INHERITANCE);
  const partitions: Record<string, string[]> = {};
  const inheritance: Record<string, string[]> = {};
  for (const row of rows) {
    const into = row.parentKind === 'p' ? partitions : inheritance;
    (into[qualifiedName(row.parentSchema, row.parentName)] ??= []).push(qualifiedName(row.schema, row.name));
  }
  // Partitioned tables without any partition still exist and must come back.
  const parents = await client.query<{ schema: string; name: string }>(`SELECT schema, name FROM (${USER_RELATIONS}) r WHERE kind = 'p'`);
  for (const p of parents.rows) partitions[qualifiedName(p.schema, p.name)] ??= [];
  for (const map of [partitions, inheritance]) for (const list of Object.values(map)) list.sort();
  return { partitions, inheritance };
}

/** readDatabaseContents of the database at `url`, on its own connection, in one REPEATABLE READ transaction. */
export async function readContentsAt(url: string): Promise<DatabaseContents> {
  const client = new pg.Client({ connectionString: url, application_name: 'bantay-count' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return await readDatabaseContents(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
