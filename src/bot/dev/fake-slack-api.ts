import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { findBlockKitViolations } from '../messages/limits.ts';

/** One call the bot made, with its arguments decoded (blocks and views parsed from JSON). */
export interface RecordedCall {
  seq: number;
  method: string;
  args: Record<string, unknown>;
  /** What the fake answered. */
  response: Record<string, unknown>;
  status: number;
  at: number;
}

interface Fault {
  method: string;
  remaining: number;
  /** Active until this time (ms since epoch), whatever `remaining` says. */
  until?: number;
  kind: 'ratelimited' | 'error' | 'http';
  /** For kind 'http': the HTTP status answered (Slack having an outage: 503). */
  status?: number;
  retryAfter: number;
  error: string;
}

export interface FakeSlackApiOptions {
  /** Members of user groups, for usergroups.users.list. */
  userGroups?: Record<string, string[]>;
  /** What apps.connections.open returns as the WebSocket URL (Socket Mode tests). */
  socketUrl?: string;
}

/**
 * A fake Slack Web API on loopback that answers like Slack: the methods the bot uses, message
 * timestamps, views with ids, response_url endpoints, `ratelimited` with Retry-After on demand,
 * and `invalid_blocks` for any payload outside Block Kit's limits. It records every call, so
 * tests assert on what the bot said and the console renders it. Used by tests and by
 * `bantay console`; never by a real deployment.
 */
export class FakeSlackApi {
  readonly calls: RecordedCall[] = [];
  #server: Server;
  #port = 0;
  #seq = 0;
  #ts = 1_700_000_000;
  #faults: Fault[] = [];
  #listeners = new Set<(call: RecordedCall) => void>();
  #views = new Map<string, Record<string, unknown>>();
  #o: FakeSlackApiOptions;

  constructor(options: FakeSlackApiOptions = {}) {
    this.#o = options;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Base URL for SLACK_API_URL / WebClient slackApiUrl. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.#port}/api/`;
  }

  /** A response_url for one interaction; posts to it are recorded as method "response_url". */
  responseUrl(id: string): string {
    return `http://127.0.0.1:${this.#port}/response/${encodeURIComponent(id)}`;
  }

  set socketUrl(url: string) {
    this.#o.socketUrl = url;
  }

  /** The next `count` calls of `method` ("*" for any) answer HTTP 429 with Retry-After. */
  rateLimit(method: string, count: number, retryAfterSeconds = 1): void {
    this.#faults.push({ method, remaining: count, kind: 'ratelimited', retryAfter: retryAfterSeconds, error: 'ratelimited' });
  }

  /** Every call of `method` ("*" for any) answers HTTP 429 for the next `ms` milliseconds. */
  rateLimitFor(method: string, ms: number, retryAfterSeconds = 1): void {
    this.#faults.push({ method, remaining: Number.POSITIVE_INFINITY, until: Date.now() + ms, kind: 'ratelimited', retryAfter: retryAfterSeconds, error: 'ratelimited' });
  }

  /** The next `count` calls of `method` answer `{ ok: false, error }`. */
  failNext(method: string, error: string, count = 1): void {
    this.#faults.push({ method, remaining: count, kind: 'error', retryAfter: 0, error });
  }

  /** The next `count` calls of `method` answer HTTP `status` (an outage at Slack: 503). */
  failHttp(method: string, status: number, count = 1): void {
    this.#faults.push({ method, remaining: count, kind: 'http', status, retryAfter: 0, error: 'http' });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  onCall(listener: (call: RecordedCall) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves with the first recorded call (from `since`) matching `predicate`. */
  async waitFor(predicate: (call: RecordedCall) => boolean, options: { timeoutMs?: number; since?: number } = {}): Promise<RecordedCall> {
    const since = options.since ?? 0;
    const found = this.calls.find((c) => c.seq >= since && predicate(c));
    if (found) return found;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`fake Slack API: no matching call within ${options.timeoutMs ?? 10_000} ms; last calls: ${this.calls.slice(-8).map((c) => c.method).join(', ')}`));
      }, options.timeoutMs ?? 10_000);
      const off = this.onCall((call) => {
        if (call.seq >= since && predicate(call)) {
          clearTimeout(timer);
          off();
          resolve(call);
        }
      });
    });
  }

  /** The sequence number the next call will get; pass as `since` to wait for newer calls. */
  get nextSeq(): number {
    return this.#seq;
  }

  /** Every Block Kit violation in any payload the bot sent so far. */
  violations(): string[] {
    return this.calls.flatMap((c) => (c.response.error === 'invalid_blocks' ? [`${c.method}: ${(c.response.errors as string[]).join('; ')}`] : []));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/response/')) {
      this.#record('response_url', { ...(JSON.parse(body || '{}') as Record<string, unknown>), response_url_id: decodeURIComponent(url.pathname.slice(10)) }, { ok: true }, 200);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const args = decodeArgs(body, req.headers['content-type'] ?? '');
    const fault = this.#faults.find((f) => f.remaining > 0 && (f.until === undefined || Date.now() < f.until) && (f.method === method || f.method === '*'));
    if (fault) {
      fault.remaining -= 1;
      if (fault.kind === 'ratelimited') {
        const response = { ok: false, error: 'ratelimited' };
        this.#record(method, args, response, 429);
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(fault.retryAfter) }).end(JSON.stringify(response));
        return;
      }
      if (fault.kind === 'http') {
        this.#record(method, args, { ok: false, error: `http_${fault.status}` }, fault.status ?? 503);
        res.writeHead(fault.status ?? 503, { 'content-type': 'text/plain' }).end('service unavailable');
        return;
      }
      const response = { ok: false, error: fault.error };
      this.#record(method, args, response, 200);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response));
      return;
    }
    const response = this.#answer(method, args);
    this.#record(method, args, response, 200);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response));
  }

  #answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    const violations = findBlockKitViolations(args as { blocks?: unknown; view?: unknown; text?: unknown });
    if (violations.length > 0) return { ok: false, error: 'invalid_blocks', errors: violations };
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fbms.slack.com/', team: 'FBMS', user: 'bantay', team_id: 'T0FBMS', user_id: 'U0BANTAY', bot_id: 'B0BANTAY' };
      case 'chat.postMessage': {
        const ts = this.#nextTs();
        return { ok: true, channel: args.channel, ts, message: { text: args.text, blocks: args.blocks, ts, thread_ts: args.thread_ts } };
      }
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts, text: args.text };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: this.#nextTs() };
      case 'chat.getPermalink':
        return { ok: true, channel: args.channel, permalink: `https://fbms.slack.com/archives/${String(args.channel)}/p${String(args.message_ts).replace('.', '')}` };
      case 'views.open':
      case 'views.push':
      case 'views.publish':
      case 'views.update': {
        const id = (args.view_id as string | undefined) ?? `V${String(this.#seq).padStart(8, '0')}`;
        const view = { ...(args.view as Record<string, unknown>), id };
        this.#views.set(id, view);
        return { ok: true, view };
      }
      case 'usergroups.users.list': {
        const users = this.#o.userGroups?.[String(args.usergroup)];
        return users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' };
      }
      case 'apps.connections.open':
        return this.#o.socketUrl ? { ok: true, url: this.#o.socketUrl } : { ok: false, error: 'invalid_auth' };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  #record(method: string, args: Record<string, unknown>, response: Record<string, unknown>, status: number): void {
    const call: RecordedCall = { seq: this.#seq++, method, args, response, status, at: Date.now() };
    this.calls.push(call);
    for (const listener of this.#listeners) listener(call);
  }

  #nextTs(): string {
    this.#ts += 1;
    return `${this.#ts}.${String(this.#seq).padStart(6, '0')}`;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Form-encoded Web API arguments, with JSON-valued ones (blocks, view) parsed. */
function decodeArgs(body: string, contentType: string): Record<string, unknown> {
  if (contentType.includes('application/json')) return JSON.parse(body || '{}') as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    out[k] = /^[[{]/.test(v) ? safeJson(v) : v;
  }
  return out;
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
