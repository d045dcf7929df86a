/**
 * How many message posts and edits one channel may take per minute, shared by every job that
 * writes there. Slack answers 429 past roughly 50 `chat.update` a minute and about one post a
 * second per channel; a 429 on a final message delays the news people wait for. Progress
 * updates take from the budget only while a reserve is left (they may be skipped: a newer state
 * follows); final messages and notifications may use the reserve and wait for room, never skip.
 */
export interface ChannelBudgetOptions {
  /** Calls allowed per rolling minute in one channel. Default 40 (under Slack's ~50). */
  perMinute?: number;
  /** Of those, how many only final messages and notifications may use. Default 10. */
  reserve?: number;
  clock?: () => number;
}

const WINDOW_MS = 60_000;

export class ChannelBudget {
  readonly perMinute: number;
  readonly reserve: number;
  #clock: () => number;
  #sent: number[] = [];

  constructor(o: ChannelBudgetOptions = {}) {
    this.perMinute = o.perMinute ?? 40;
    this.reserve = Math.min(o.reserve ?? 10, this.perMinute - 1);
    this.#clock = o.clock ?? Date.now;
  }

  /** For progress updates: takes a slot and returns true when one is free outside the reserve. */
  tryTake(): boolean {
    if (this.#used() >= this.perMinute - this.reserve) return false;
    this.#sent.push(this.#clock());
    return true;
  }

  /** Counts a call that goes whatever the budget says (a job's first post). */
  record(): void {
    this.#sent.push(this.#clock());
  }

  /** For final messages: waits (polling, cheap) until any slot is free, then takes it. */
  async take(): Promise<void> {
    while (this.#used() >= this.perMinute) {
      const wait = this.#sent[0]! + WINDOW_MS - this.#clock();
      await new Promise((r) => setTimeout(r, Math.max(10, Math.min(wait, 1000))));
    }
    this.#sent.push(this.#clock());
  }

  #used(): number {
    const since = this.#clock() - WINDOW_MS;
    while (this.#sent.length > 0 && this.#sent[0]! <= since) this.#sent.shift();
    return this.#sent.length;
  }
}

/** One budget per channel id, created on first use. */
export class ChannelBudgets {
  #byChannel = new Map<string, ChannelBudget>();
  constructor(private readonly o: ChannelBudgetOptions = {}) {}

  of(channel: string): ChannelBudget {
    let b = this.#byChannel.get(channel);
    if (b === undefined) this.#byChannel.set(channel, (b = new ChannelBudget(this.o)));
    return b;
  }
}
