/**
 * Maps an async iterable with up to `concurrency` calls of `fn` in flight, yielding results in
 * source order. Used to read the next files while the current one streams into the archive.
 * When the consumer stops early (error, return), results already started are awaited and handed
 * to `dispose` (e.g. to close file handles) before the generator finishes.
 */
export async function* mapOrdered<T, R>(
  source: AsyncIterable<T>,
  concurrency: number,
  fn: (item: T) => Promise<R>,
  dispose: (result: R) => Promise<void> = async () => undefined,
): AsyncGenerator<R> {
  const iterator = source[Symbol.asyncIterator]();
  const inFlight: Array<Promise<R>> = [];
  let exhausted = false;
  const refill = async (): Promise<void> => {
    while (!exhausted && inFlight.length < concurrency) {
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      const started = fn(next.value);
      // Rejections are observed when the result's turn comes; never as unhandled ones.
      started.catch(() => undefined);
      inFlight.push(started);
    }
  };
  try {
    await refill();
    while (inFlight.length > 0) {
      const result = await inFlight.shift()!;
      yield result;
      await refill();
    }
  } finally {
    const abandoned = inFlight.splice(0);
    await Promise.allSettled(abandoned.map(async (p) => dispose(await p)));
    if (!exhausted) await iterator.return?.();
  }
}
