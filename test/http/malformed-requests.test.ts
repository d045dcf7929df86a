import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpsRoutes, startOpsHttpServer, type OpsHttpServer } from '../../src/http/routes.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createMemoryStore } from '../../src/storage/memory-store.ts';

const TOKEN = 'status-token-0123456789abcdef';
let server: OpsHttpServer;

beforeAll(async () => {
  const logger = createLogger({ level: 'silent' });
  const state = { query: async () => [] } as never;
  const status = { get: async () => Promise.reject(new Error('not needed')) };
  const routes = createOpsRoutes({ state, store: createMemoryStore(), status, logger, statusToken: TOKEN });
  server = await startOpsHttpServer({ port: 0, host: '127.0.0.1', routes });
});

afterAll(async () => {
  await server?.close();
});

/** Sends one raw HTTP/1.1 request and resolves with the status line (or "closed"). */
function rawRequest(port: number, target: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    socket.setTimeout(5000, () => socket.destroy());
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('close', () => resolve(data.split('\r\n')[0] || 'closed'));
    socket.on('error', () => resolve('closed'));
  });
}

describe('the ops HTTP server (Socket Mode) and unauthenticated garbage', () => {
  it('answers 400 to a request target that is not a URL, and keeps serving (no uncaught exception)', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.prependListener('uncaughtException', onUncaught);
    try {
      expect(await rawRequest(server.port, 'http://[')).toMatch(/^HTTP\/1\.1 400/);
      expect(await rawRequest(server.port, '/status?token=x%')).toMatch(/^HTTP\/1\.1 401/);
      const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });
});
