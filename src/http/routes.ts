import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.ts';
import type { Queryable } from '../state/state-db.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { checkToken } from './auth.ts';
import { checkReadiness } from './health.ts';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.ts';
import { buildStatusPage } from './status-page.ts';
import type { StatusSource } from './status-data.ts';
import type { PublicStatus } from '../jobs/incident/public-status.ts';
import { buildPublicStatusPage } from './public-status-page.ts';

/** The shape of Bolt's `customRoutes` entries, so the same routes serve in Bolt or on their own. */
export interface OpsRoute {
  path: string;
  method: string | string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface OpsRouteDeps {
  state: Queryable;
  /** The primary store (readiness lists it). */
  store: ObjectStore;
  status: StatusSource;
  logger: Logger;
  /** Guards /status, and /metrics when metricsToken is unset. Unset: both answer 503. */
  statusToken: string | undefined;
  /** A separate token for Prometheus; the status token is accepted for /metrics as well. */
  metricsToken?: string;
  /**
   * BANTAY_PUBLIC_STATUS=on: the public status page and its JSON (unauthenticated by design:
   * they show only checked public text). Unset: those paths do not exist (404).
   */
  publicStatus?: () => Promise<PublicStatus>;
}

/**
 * GET /healthz (process up), /readyz (state database and primary store reachable), /metrics
 * (Prometheus text) and /status (HTML for people). The first two are unauthenticated and say
 * nothing beyond ok / not ready; the last two need a token and are refused (503) when no
 * token is configured, so backup details are never public by accident.
 */
export function createOpsRoutes(deps: OpsRouteDeps): OpsRoute[] {
  const guarded = (tokens: Array<string | undefined>, serve: (res: ServerResponse) => Promise<void>) => (req: IncomingMessage, res: ServerResponse) => {
    const configured = tokens.filter((t): t is string => t !== undefined);
    if (configured.length === 0) return send(res, 503, 'text/plain; charset=utf-8', 'disabled: set BANTAY_STATUS_TOKEN to enable this page\n');
    if (!configured.some((t) => checkToken(req, t) === 'ok')) {
      return send(res, 401, 'text/plain; charset=utf-8', 'unauthorized\n', { 'WWW-Authenticate': 'Basic realm="Bantay status", charset="UTF-8"' });
    }
    serve(res).catch((err: unknown) => {
      deps.logger.error({ err, path: req.url?.split('?')[0] }, 'ops endpoint failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error (see the Bantay log)\n');
    });
  };
  return [
    { path: '/healthz', method: 'GET', handler: (_req, res) => send(res, 200, 'text/plain; charset=utf-8', 'ok\n') },
    {
      path: '/readyz',
      method: 'GET',
      handler: (_req, res) => {
        void checkReadiness({ state: deps.state, store: deps.store, logger: deps.logger }).then(({ ready }) =>
          send(res, ready ? 200 : 503, 'text/plain; charset=utf-8', ready ? 'ready\n' : 'not ready\n'),
        );
      },
    },
    {
      path: '/metrics',
      method: 'GET',
      handler: guarded([deps.metricsToken, deps.statusToken], async (res) => send(res, 200, METRICS_CONTENT_TYPE, renderMetrics(await deps.status.get()))),
    },
    {
      path: '/status',
      method: 'GET',
      handler: guarded([deps.statusToken], async (res) => send(res, 200, 'text/html; charset=utf-8', buildStatusPage(await deps.status.get()))),
    },
    ...(deps.publicStatus ? publicRoutes(deps.publicStatus, deps.logger) : []),
  ];
}

function publicRoutes(read: () => Promise<PublicStatus>, logger: Logger): OpsRoute[] {
  const serve = (render: (s: PublicStatus) => [string, string]) => (req: IncomingMessage, res: ServerResponse) => {
    read()
      .then((status) => {
        const [type, body] = render(status);
        // The JSON is for FBMS's in-app banner, fetched from users' browsers: any origin may read it.
        send(res, 200, type, body, { 'Access-Control-Allow-Origin': '*' });
      })
      .catch((err: unknown) => {
        logger.error({ err, path: req.url?.split('?')[0] }, 'public status failed');
        if (!res.headersSent) send(res, 503, 'text/plain; charset=utf-8', 'status unavailable\n');
      });
  };
  return [
    { path: '/public/status', method: 'GET', handler: serve((s) => ['text/html; charset=utf-8', buildPublicStatusPage(s)]) },
    { path: '/public/status.json', method: 'GET', handler: serve((s) => ['application/json; charset=utf-8', `${JSON.stringify(s)}\n`]) },
  ];
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    ...headers,
  });
  res.end(body);
}

export interface OpsHttpServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `routes` with plain node:http, for `bantay serve` without Bolt's HTTP server (no Slack,
 * or Socket Mode without customRoutes) and for tests. Unknown paths answer 404.
 */
export async function startOpsHttpServer(options: { port: number; host?: string; routes: OpsRoute[] }): Promise<OpsHttpServer> {
  const server = createServer((req, res) => {
    // Anyone who can reach the port can send anything: a request target that is not a URL (or
    // a handler that throws) must be answered, never become an uncaught exception that ends
    // `bantay serve`.
    try {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const route = options.routes.find((r) => r.path === path && [r.method].flat().some((m) => m.toUpperCase() === req.method));
      if (route) route.handler(req, res);
      else send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    } catch {
      if (!res.headersSent) send(res, 400, 'text/plain; charset=utf-8', 'bad request\n');
      else res.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
