/**
 * Calls `fn` for every item with at most `limit` calls in flight, and resolves when all have
 * settled. `fn` receives the item's index so callers can keep results in input order. If `fn`
 * rejects, the rejection is returned after the in-flight calls finish (no new ones start).
 */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await fn(items[index]!, index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
