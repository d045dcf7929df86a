import type { Queryable } from '../state/state-db.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { Logger } from '../log/logger.ts';

export interface ReadinessDeps {
  state: Queryable;
  store: ObjectStore;
  logger: Logger;
  /** Each check must answer within this; default 5 s. */
  timeoutMs?: number;
}

/**
 * Ready when the state database answers and the primary store can be listed. The answer names
 * which dependency failed and nothing more (no hosts, no errors): readiness is unauthenticated.
 * Details go to the log.
 */
export async function checkReadiness(deps: ReadinessDeps): Promise<{ ready: boolean; failed: string[] }> {
  const timeoutMs = deps.timeoutMs ?? 5000;
  const checks: Array<[string, () => Promise<unknown>]> = [
    ['state database', () => deps.state.query('SELECT 1')],
    ['primary store', () => firstObject(deps.store)],
  ];
  const results = await Promise.all(
    checks.map(async ([name, run]) => {
      try {
        await withTimeout(run(), timeoutMs);
        return undefined;
      } catch (err) {
        deps.logger.warn({ err, check: name }, 'readiness check failed');
        return name;
      }
    }),
  );
  const failed = results.filter((r): r is string => r !== undefined);
  return { ready: failed.length === 0, failed };
}

async function firstObject(store: ObjectStore): Promise<void> {
  for await (const _ of store.list('backups/')) return;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
