/**
 * Background tasks for one producer (the loop reading an archive, or the walk of a backup),
 * bounded by a count and by the bytes they hold, so memory stays flat whatever the tree. The
 * producer asks for room before it buffers the next piece of work (`room`), then starts the task
 * (`start`). The first task failure is remembered: the next `room`/`drain` throws it, so the
 * producer stops at once. `settle` waits for every started task without throwing, which a caller
 * must do before cleaning up after a failure (no task may create a file after the clean-up).
 */
export class TaskPool {
  readonly #concurrency: number;
  readonly #budgetBytes: number;
  #running = 0;
  #bytes = 0;
  #wake: (() => void) | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  constructor(options: { concurrency: number; budgetBytes: number }) {
    this.#concurrency = Math.max(1, options.concurrency);
    this.#budgetBytes = options.budgetBytes;
  }

  /**
   * Resolves when a task holding `bytes` may start: fewer than `concurrency` running and the
   * budget not exceeded (a task larger than the budget waits until it runs alone).
   */
  async room(bytes: number): Promise<void> {
    this.#throwIfFailed();
    while (this.#running >= this.#concurrency || (this.#running > 0 && this.#bytes + bytes > this.#budgetBytes)) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#throwIfFailed();
    }
  }

  /** Starts `task` now (call after `room(bytes)`); its failure surfaces at the next room/drain. */
  start(bytes: number, task: () => Promise<void>): void {
    this.#running += 1;
    this.#bytes += bytes;
    const running: Promise<void> = task()
      .catch((error: unknown) => {
        this.#failure ??= { error };
      })
      .finally(() => {
        this.#running -= 1;
        this.#bytes -= bytes;
        this.#inFlight.delete(running);
        const wake = this.#wake;
        this.#wake = undefined;
        wake?.();
      });
    this.#inFlight.add(running);
  }

  /** Waits for every started task; throws the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    this.#throwIfFailed();
  }

  /** Waits for every started task, failures included, without throwing. */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }
}
