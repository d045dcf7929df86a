/**
 * The state database's interfaces, below every module that uses them (state-db, migrations,
 * the journal, the table modules), so none of those import each other for a type.
 */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /**
   * A write whose result nobody reads (see journal.ts for its contract). A process that defers
   * writes journals it instead of opening the embedded database; everywhere else it is `query`.
   * Call it through `writeState`, which also checks the contract.
   */
  append?(sql: string, params: unknown[]): Promise<void>;
}

export interface StateDb extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in one transaction on one connection; rolls back if fn throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
