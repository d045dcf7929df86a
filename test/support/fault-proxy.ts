import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * A fault-injecting HTTP proxy for tests: it sits in front of a real server (the S3 test server)
 * on loopback and forwards every request unchanged, except those a rule matches. Rules are
 * checked in order; the first that matches and still has uses left applies. Point a client at
 * `proxy.endpoint` instead of the server's endpoint.
 */
export type Fault =
  /** Flip one bit of the request body at byte `offset` (default 0) on its way to the server. */
  | { kind: 'flip-request-bit'; offset?: number }
  /** Answer with this status and an S3-style XML error, without forwarding. */
  | { kind: 'status'; status: number; code?: string }
  /** Forward, then destroy the connection after `afterBytes` bytes of the response body. */
  | { kind: 'reset-response'; afterBytes: number }
  /** Destroy the client's connection before forwarding anything. */
  | { kind: 'reset-request' }
  /** Wait `ms` before forwarding (a stalled provider); the client may time out first. */
  | { kind: 'stall'; ms: number };

export interface FaultRule {
  /** Which requests: method, a substring or pattern of the URL (path and query). */
  method?: string;
  url?: string | RegExp;
  fault: Fault;
  /** How many matching requests get the fault; default: all of them. */
  times?: number;
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The fault applied, if any. */
  fault?: Fault['kind'];
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** Adds a rule; returns a function that removes it. */
  add(rule: FaultRule): () => void;
  clear(): void;
  /** Every request seen since start or the last clear(), in arrival order. */
  seen(): SeenRequest[];
  /** How many times each added rule has fired, in the order they were added. */
  hits(): number[];
  stop(): Promise<void>;
}

interface LiveRule extends FaultRule {
  used: number;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let rules: LiveRule[] = [];
  let seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    const rule = rules.find((r) => matches(r, req) && (r.times === undefined || r.used < r.times));
    if (rule) rule.used += 1;
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, fault: rule?.fault.kind });
    void handle(req, res, upstream, rule?.fault);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    add(rule) {
      const live: LiveRule = { ...rule, used: 0 };
      rules.push(live);
      return () => {
        rules = rules.filter((r) => r !== live);
      };
    },
    clear() {
      rules = [];
      seen = [];
    },
    seen: () => [...seen],
    hits: () => rules.map((r) => r.used),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function matches(rule: FaultRule, req: IncomingMessage): boolean {
  if (rule.method !== undefined && rule.method.toUpperCase() !== req.method) return false;
  const url = req.url ?? '';
  if (rule.url === undefined) return true;
  return typeof rule.url === 'string' ? url.includes(rule.url) : rule.url.test(url);
}

async function handle(req: IncomingMessage, res: ServerResponse, upstream: URL, fault: Fault | undefined): Promise<void> {
  if (fault?.kind === 'reset-request') {
    req.socket.destroy();
    return;
  }
  if (fault?.kind === 'status') {
    req.resume();
    const code = fault.code ?? (fault.status >= 500 ? 'InternalError' : 'BadRequest');
    res.writeHead(fault.status, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by fault proxy</Message></Error>`);
    return;
  }
  if (fault?.kind === 'stall') await new Promise((resolve) => setTimeout(resolve, fault.ms));
  if (req.socket.destroyed) return;

  const out = httpRequest(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      if (fault?.kind === 'reset-response') {
        upstreamRes.pipe(cutAfter(fault.afterBytes, () => res.socket?.destroy())).pipe(res);
      } else {
        upstreamRes.pipe(res);
      }
    },
  );
  out.on('error', () => res.socket?.destroy());
  req.on('aborted', () => out.destroy());
  const body = fault?.kind === 'flip-request-bit' ? req.pipe(flipBit(fault.offset ?? 0)) : req;
  body.pipe(out);
}

/** Flips the lowest bit of the byte at `offset` of the stream passing through. */
function flipBit(offset: number): Transform {
  let position = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (offset >= position && offset < position + chunk.length) {
        const copy = Buffer.from(chunk);
        copy[offset - position] = (copy[offset - position] ?? 0) ^ 0x01;
        chunk = copy;
      }
      position += chunk.length;
      callback(null, chunk);
    },
  });
}

/** Passes `limit` bytes through, then calls `cut` (which destroys the connection). */
function cutAfter(limit: number, cut: () => void): Transform {
  let passed = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const room = limit - passed;
      if (room <= 0) {
        cut();
        return callback();
      }
      passed += Math.min(room, chunk.length);
      callback(null, chunk.length > room ? chunk.subarray(0, room) : chunk);
      if (passed >= limit) setImmediate(cut);
    },
  });
}
