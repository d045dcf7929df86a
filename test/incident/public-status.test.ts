import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_RUNBOOK_DIR } from '../../src/config/incident-config.ts';
import { createOpsRoutes, startOpsHttpServer, type OpsHttpServer } from '../../src/http/routes.ts';
import { createStatusSource } from '../../src/http/status-data.ts';
import { declareIncident, postStatusUpdate, requireIncident } from '../../src/jobs/incident/incidents.ts';
import { currentPublicStatus } from '../../src/jobs/incident/public-status.ts';
import { resolveIncident } from '../../src/jobs/incident/resolve.ts';
import { loadRunbook } from '../../src/jobs/incident/runbooks.ts';
import type { JobDeps } from '../../src/jobs/job-context.ts';
import { DEFAULT_SCHEDULE } from '../../src/schedule/schedule-config.ts';
import { makeDeps } from '../support/job-deps.ts';

/**
 * The public status page and JSON: a status update reaches both; nothing internal (incident
 * id, summary, scenario, commander, database name) is on them; the page reads on a phone in a
 * real browser; without BANTAY_PUBLIC_STATUS the paths do not exist.
 */
const SECRET_SUMMARY = 'fbms_prod_ledger corrupted by migration 0042 on db-host-7';
let deps: JobDeps;
let close: () => Promise<void>;
let on: OpsHttpServer;
let off: OpsHttpServer;
let browser: Browser | undefined;

beforeAll(async () => {
  const made = await makeDeps();
  deps = made.deps;
  close = made.close;
  const status = createStatusSource({ store: deps.store, secondary: undefined, state: deps.state, keyRing: deps.keyRing }, { timezone: 'Asia/Manila', schedule: DEFAULT_SCHEDULE, objectives: { rtoSeconds: 14400, rpoSeconds: 3600 } });
  const base = { state: deps.state, store: deps.store, status, logger: deps.logger, statusToken: undefined };
  on = await startOpsHttpServer({ port: 0, host: '127.0.0.1', routes: createOpsRoutes({ ...base, publicStatus: () => currentPublicStatus(deps.state, 'Tindahan Online') }) });
  off = await startOpsHttpServer({ port: 0, host: '127.0.0.1', routes: createOpsRoutes(base) });
});
afterAll(async () => {
  await browser?.close();
  await on?.close();
  await off?.close();
  await close?.();
});

describe('public status', () => {
  it('shows operational, then the incident\'s public update only, then resolved', { timeout: 60_000 }, async () => {
    const url = `http://127.0.0.1:${on.port}/public/status`;
    const quiet = await fetch(`${url}.json`);
    expect(quiet.headers.get('access-control-allow-origin')).toBe('*');
    expect(await quiet.json()).toMatchObject({ service: 'Tindahan Online', state: 'operational', incidents: [] });

    const runbook = await loadRunbook(SHIPPED_RUNBOOK_DIR, 'database-corruption');
    const incident = await declareIncident(deps.state, { runbook, severity: 'sev1', summary: SECRET_SUMMARY, detectedAt: new Date(Date.now() - 60_000), declaredBy: 'slack:U0COMMAND1' });
    const early = (await (await fetch(`${url}.json`)).json()) as { state: string; incidents: Array<{ message: string }> };
    expect(early.state).toBe('investigating');
    expect(early.incidents[0]!.message).toBe('We are investigating a problem and will post an update soon.');

    const message = 'Sales figures from this afternoon are being corrected. <b>Receipts</b> are safe.';
    await postStatusUpdate(deps.state, incident, { status: 'recovering', publicMessage: message, actor: 'slack:U0COMMAND1', internalNames: ['fbms_prod_ledger'] });
    const json = await (await fetch(`${url}.json`)).text();
    expect(JSON.parse(json)).toMatchObject({ state: 'recovering', incidents: [{ status: 'recovering', message, resolvedAt: null }] });
    const html = await (await fetch(url)).text();
    for (const body of [json, html]) {
      for (const internal of [incident.id, SECRET_SUMMARY, 'fbms_prod_ledger', 'U0COMMAND1', 'database-corruption', 'Database corruption', 'sev1']) expect(body).not.toContain(internal);
    }

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const page = await browser.newPage({ viewport: { width: 360, height: 740 }, isMobile: true, deviceScaleFactor: 2 });
    await page.goto(url);
    expect(await page.textContent('#state')).toBe('Restoring service');
    const text = (await page.textContent('body'))!;
    expect(text).toContain('Sales figures from this afternoon are being corrected. <b>Receipts</b> are safe.');
    expect(await page.$('b')).toBeNull();
    for (const internal of [incident.id, SECRET_SUMMARY, 'U0COMMAND1']) expect(text).not.toContain(internal);
    // Readable on a phone: no sideways scrolling, text not shrunk below 14 px.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    expect(await page.evaluate<number>("parseFloat(getComputedStyle(document.querySelector('p')).fontSize)")).toBeGreaterThanOrEqual(14);

    await resolveIncident(deps, await requireIncident(deps.state, incident.id), { actor: 'slack:U0COMMAND1', resolution: { impact: '', rootCause: 'x', prevention: '', lessonsLearned: '' } });
    expect(await (await fetch(`${url}.json`)).json()).toMatchObject({ state: 'operational', incidents: [{ status: 'resolved', message: 'This problem is resolved.' }] });
  });

  it('does not exist unless switched on', async () => {
    expect((await fetch(`http://127.0.0.1:${off.port}/public/status`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${off.port}/public/status.json`)).status).toBe(404);
  });
});
