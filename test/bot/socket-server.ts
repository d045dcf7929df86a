import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** Slack's side of Socket Mode: apps.connections.open hands out this URL; we say hello and send envelopes. */
export interface FakeSocketServer {
  url: string;
  connections: WebSocket[];
  received: unknown[];
  /** While true, new connections get no hello (the client's start() keeps waiting). */
  silent: boolean;
  close: () => Promise<void>;
}

export async function startFakeSocketServer(): Promise<FakeSocketServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const connections: WebSocket[] = [];
  const received: unknown[] = [];
  const fake: FakeSocketServer = {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/link/?ticket=test`,
    connections,
    received,
    silent: false,
    close: () =>
      new Promise((resolve) => {
        for (const c of server.clients) c.terminate();
        server.close(() => resolve());
      }),
  };
  server.on('connection', (socket) => {
    connections.push(socket);
    socket.on('message', (data) => received.push(JSON.parse(String(data))));
    if (fake.silent) return;
    socket.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake', approximate_connection_time: 3600 }, connection_info: { app_id: 'A0BANTAY' } }));
  });
  return fake;
}

export async function eventually<T>(fn: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

