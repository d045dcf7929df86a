import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLocalStore } from '../../src/storage/local-store.ts';
import { createS3Store } from '../../src/storage/s3-store.ts';
import { createOpsRoutes, startOpsHttpServer, type OpsHttpServer } from '../../src/http/routes.ts';
import { createStatusSource } from '../../src/http/status-data.ts';
import { runSync } from '../../src/jobs/sync-secondary.ts';
import { acquireLease, releaseLease } from '../../src/schedule/lease.ts';
import { DEFAULT_SCHEDULE } from '../../src/schedule/schedule-config.ts';
import { putFakeBackup } from '../support/fake-backups.ts';
import { cliTrigger, makeDeps, tempDir } from '../support/job-deps.ts';
import { createTestBucket, TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../support/s3-server.ts';
import { parsePrometheusText } from './prometheus-parser.ts';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'status-token-0123456789abcdef';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
let server: OpsHttpServer;
let base: string;
let close: () => Promise<void>;
let ids: { db: string; app: string; upl: string };

beforeAll(async () => {
  const endpoint = inject('s3Endpoint');
  const bucket = await createTestBucket(endpoint);
  const store = createS3Store({ bucket, prefix: 'prod', endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS });
  const made = await makeDeps({ store });
  close = made.close;
  const { deps } = made;
  const hours = (h: number) => new Date(Date.now() - h * 3_600_000);
  await putFakeBackup(store, { createdAt: hours(26), sizeBytes: 3_000_000, verified: true }, deps);
  const db = await putFakeBackup(store, { createdAt: hours(2), sizeBytes: 3_100_000, verified: true }, deps);
  const app = await putFakeBackup(store, { kind: 'application', createdAt: hours(2), sizeBytes: 400_000 }, deps);
  const upl = await putFakeBackup(store, { kind: 'uploads', createdAt: hours(1), sizeBytes: 800_000, parentId: null }, deps);
  ids = { db: db.id, app: app.id, upl: upl.id };
  const secondary = createLocalStore(tempDir());
  await runSync({ trigger: cliTrigger }, { ...deps, secondary });
  await insertDrill(deps.state, hours(30));
  await deps.state.query(
    `INSERT INTO alert_state (key, status, severity, title, fingerprint, first_seen, last_seen, notified_at) VALUES ($1, 'firing', 'warning', $2, 'x', now() - interval '3 hours', now(), now())`,
    ['size-drop:application', 'The newest application backup shrank to <b>400 KB</b>'],
  );
  const fireAt = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000);
  await acquireLease(deps.state, { job: 'database', fireAt, owner: 'replica-a', ttlMs: 60_000 });
  await releaseLease(deps.state, { job: 'database', fireAt, owner: 'replica-a' }, { status: 'succeeded' });
  const status = createStatusSource(
    { store, secondary, state: deps.state, keyRing: deps.keyRing },
    { timezone: 'Asia/Manila', schedule: DEFAULT_SCHEDULE, objectives: { rtoSeconds: 4 * 3600, rpoSeconds: 26 * 3600 } },
  );
  const routes = createOpsRoutes({ state: deps.state, store, status, logger: deps.logger, statusToken: TOKEN, metricsToken: METRICS_TOKEN });
  server = await startOpsHttpServer({ port: 0, host: '127.0.0.1', routes });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.close();
  await close?.();
});

async function insertDrill(state: { query: (sql: string, params?: unknown[]) => Promise<unknown> }, at: Date): Promise<void> {
  const report = {
    formatVersion: 1, id: 'drill-20261125T010000Z-abcd', startedAt: at.toISOString(), finishedAt: new Date(at.getTime() + 600_000).toISOString(), durationSeconds: 600,
    performedBy: 'schedule', objectives: { rtoSeconds: 4 * 3600, rpoSeconds: 26 * 3600 }, passed: true, counts: { passed: 5, failed: 0, skipped: 1 },
    items: [
      { kind: 'database', backupId: 'db-20261124T180000Z-aaaa', backupCreatedAt: at.toISOString(), status: 'passed', checks: [], rtoSeconds: 754, rpoSeconds: 25_200 },
      { kind: 'uploads', backupId: null, backupCreatedAt: null, status: 'skipped', checks: [], rtoSeconds: null, rpoSeconds: 3600 },
    ],
  };
  await state.query(
    `INSERT INTO drill_reports (id, started_at, finished_at, passed, checks_passed, checks_failed, checks_skipped, performed_by, store_key, report)
     VALUES ($1, $2, $3, true, 5, 0, 1, 'schedule', NULL, $4)`,
    [report.id, report.startedAt, report.finishedAt, JSON.stringify(report)],
  );
}

describe('health endpoints', () => {
  it('/healthz and /readyz answer without credentials and reveal nothing', async () => {
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, 'ready\n']);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('/readyz is 503 when the primary store is unreachable', async () => {
    const { deps, close: done } = await makeDeps();
    const dead = createS3Store({ bucket: 'x-bucket', prefix: '', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true, credentials: TEST_S3_CREDENTIALS, maxAttempts: 1 });
    const routes = createOpsRoutes({ state: deps.state, store: dead, status: { get: () => Promise.reject(new Error('unused')) }, logger: deps.logger, statusToken: TOKEN });
    const own = await startOpsHttpServer({ port: 0, host: '127.0.0.1', routes });
    const ready = await fetch(`http://127.0.0.1:${own.port}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([503, 'not ready\n']);
    await own.close();
    await done();
  });
});

describe('/metrics', () => {
  it('refuses requests without a token', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { Authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
  });

  it('parses as Prometheus text and carries the backup, storage, schedule and drill figures', async () => {
    for (const token of [METRICS_TOKEN, TOKEN]) {
      const res = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const { samples, families } = parsePrometheusText(await res.text());
      const value = (name: string, labels: Record<string, string> = {}) =>
        samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
      expect(families.get('bantay_backup_last_size_bytes')?.type).toBe('gauge');
      expect(value('bantay_backup_last_size_bytes', { kind: 'database' })).toBe(3_100_000);
      expect(value('bantay_backups', { kind: 'database' })).toBe(2);
      expect(value('bantay_backup_last_success_timestamp_seconds', { kind: 'uploads' })).toBeGreaterThan(Date.now() / 1000 - 2 * 3600);
      expect(value('bantay_verification_last_passed', { kind: 'database' })).toBe(1);
      expect(value('bantay_storage_used_bytes', { location: 'primary' })).toBeGreaterThan(4_300_000);
      expect(value('bantay_storage_used_bytes', { location: 'secondary' })).toBe(value('bantay_storage_used_bytes', { location: 'primary' }));
      expect(value('bantay_secondary_lag_seconds')).toBe(0);
      expect(value('bantay_schedule_last_fire_success', { job: 'database' })).toBe(1);
      expect(value('bantay_schedule_next_run_timestamp_seconds', { job: 'drill' })).toBeGreaterThan(Date.now() / 1000);
      expect(value('bantay_drill_rto_seconds')).toBe(754);
      expect(value('bantay_alerts_firing', { severity: 'warning' })).toBe(1);
    }
  });
});

describe('/status in a real browser (Debian chromium via playwright-core)', () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('refuses requests without the token (401 with a Basic challenge) or with a wrong one', async () => {
    const plain = await fetch(`${base}/status`);
    expect(plain.status).toBe(401);
    expect(plain.headers.get('www-authenticate')).toMatch(/^Basic realm="Bantay status"/);
    expect(await plain.text()).toBe('unauthorized\n');
    // In the browser: wrong Basic credentials and a wrong ?token= are refused and show nothing.
    const context = await browser.newContext({ httpCredentials: { username: 'ops', password: 'not-the-token-123456' } });
    const page = await context.newPage();
    const viaBasic = await page.goto(`${base}/status`);
    expect(viaBasic?.status()).toBe(401);
    expect(await page.textContent('body')).toBe('unauthorized\n');
    const viaQuery = await page.goto(`${base}/status?token=not-the-token-123456`);
    expect(viaQuery?.status()).toBe(401);
    await context.close();
  });

  it('renders real data on a phone-sized screen, auto-refreshes, and shows no secrets', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const page = await context.newPage();
    const response = await page.goto(`${base}/status?token=${TOKEN}`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('Bantay status: warning');
    const text = (await page.textContent('body')) ?? '';
    expect(text).toContain('1 problem needs attention.');
    // The alert title is shown as text, not interpreted as markup.
    expect(text).toContain('The newest application backup shrank to <b>400 KB</b>');
    const card = async (kind: string) => (await page.textContent(`[data-kind="${kind}"]`)) ?? '';
    expect(await card('database')).toMatch(/Last backup.*\(2h ago\)/);
    expect(await card('database')).toContain('3.1 MB');
    expect(await card('database')).toContain('Verifiedpassed');
    expect(await card('application')).toContain('warning');
    expect(await card('uploads')).toContain('Verifiednever');
    const primary = (await page.textContent('[data-location="primary"]')) ?? '';
    expect(primary).toMatch(/Used[\d.]+ MB/);
    expect(primary).toContain('Backups4');
    expect((await page.textContent('[data-location="secondary"]')) ?? '').toContain('Behind primaryup to date');
    const drill = (await page.textContent('[data-drill]')) ?? '';
    expect(drill).toContain('Resultpassed');
    expect(drill).toContain('RTO achieved13m (within 4h)');
    expect(drill).toContain('RPO achieved7h (within 26h)');
    expect(text).toContain('recovery drill (report to #incidents)');
    // Fits the screen: nothing wider than the viewport.
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    expect(await page.getAttribute('meta[http-equiv="refresh"]', 'content')).toBe('60');
    const html = await page.content();
    for (const secret of [TOKEN, METRICS_TOKEN, TEST_S3_CREDENTIALS.secretAccessKey]) expect(html).not.toContain(secret);
    expect(html).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)/);
    await context.close();
  });

  it('accepts Basic auth (any user, the token as password), as a phone prompt sends it', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'ops', password: TOKEN } });
    const page = await context.newPage();
    expect((await page.goto(`${base}/status`))?.status()).toBe(200);
    expect(await page.textContent(`[data-kind="uploads"] h3`)).toContain('uploads');
    await context.close();
    expect(ids.upl).toMatch(/^upl-/);
  });
});
