import { bytesText, durationText } from '../jobs/monitor/text.ts';
import { formatWallTime } from '../schedule/zoned-time.ts';
import type { KindStatus, OpsStatus } from './status-data.ts';

/**
 * The status page: one small HTML document, no scripts and no external assets (it must work
 * from a phone on a bad connection during an outage), refreshed by the browser every 60 s.
 * Every value passes through `escapeHtml`. It shows what the recovery procedures' dashboard
 * promised: last backup and status per kind, storage used at each location, the last drill
 * with the RTO/RPO it achieved, plus firing alerts and the schedule. No secrets reach it:
 * store descriptions carry no credentials and the access token is never echoed.
 */
export function buildStatusPage(status: OpsStatus): string {
  const when = (d: Date) => `${formatWallTime(d, status.timezone)}`;
  const ago = (d: Date) => `${durationText((status.generatedAt.getTime() - d.getTime()) / 1000)} ago`;
  const overall = status.alerts.some((a) => a.severity === 'critical') ? 'critical' : status.alerts.length > 0 ? 'warning' : 'ok';
  const sections = [
    `<header class="${overall}"><h1>Bantay · FBMS backups</h1><p>${escapeHtml(overallText(overall, status.alerts.length))}</p></header>`,
    alertsSection(status, ago),
    `<section><h2>Backups</h2>${status.kinds.map((k) => kindCard(k, when, ago)).join('')}</section>`,
    storageSection(status),
    drillSection(status, when),
    scheduleSection(status, when),
    `<footer>Updated ${escapeHtml(when(status.generatedAt))} (${escapeHtml(status.timezone)}); refreshes every minute.</footer>`,
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<meta name="robots" content="noindex, nofollow">
<title>Bantay status: ${escapeHtml(overall)}</title>
<style>${STYLE}</style>
</head>
<body>
${sections.join('\n')}
</body>
</html>
`;
}

function overallText(overall: string, count: number): string {
  if (overall === 'ok') return 'All checks pass.';
  return `${count} problem${count === 1 ? '' : 's'} need${count === 1 ? 's' : ''} attention.`;
}

function alertsSection(status: OpsStatus, ago: (d: Date) => string): string {
  if (status.alerts.length === 0) return '';
  const items = status.alerts.map((a) => `<li class="${cls(a.severity)}"><strong>${escapeHtml(a.severity)}</strong> ${escapeHtml(a.title)} <small>since ${escapeHtml(ago(a.since))}</small></li>`);
  return `<section><h2>Problems</h2><ul class="alerts">${items.join('')}</ul></section>`;
}

function kindCard(k: KindStatus, when: (d: Date) => string, ago: (d: Date) => string): string {
  const rows: Array<[string, string]> = [];
  if (k.last) {
    rows.push(['Last backup', `${when(k.last.createdAt)} (${ago(k.last.createdAt)})`]);
    rows.push(['Size / took', `${bytesText(k.last.sizeBytes)} / ${durationText(k.last.durationSeconds)}`]);
    rows.push(['Encrypted', k.last.encrypted ? 'yes' : 'NO']);
  } else {
    rows.push(['Last backup', 'none']);
  }
  rows.push(['Verified', k.verification ? `${k.verification.passed ? 'passed' : 'FAILED'} ${when(k.verification.verifiedAt)}` : 'never']);
  rows.push(['Backups kept', String(k.count)]);
  return `<article class="card ${cls(k.health)}" data-kind="${escapeHtml(k.kind)}"><h3>${escapeHtml(k.kind)} <span class="badge">${escapeHtml(k.health)}</span></h3>${definitionList(rows)}</article>`;
}

function storageSection(status: OpsStatus): string {
  const cards = status.locations.map((l) => {
    const rows: Array<[string, string]> = l.reachable
      ? [['Used', bytesText(l.usedBytes ?? 0)], ['Objects', String(l.objects ?? 0)], ['Backups', String(l.backups ?? 0)]]
      : [['State', 'UNREACHABLE']];
    if (l.name === 'secondary' && status.lag) {
      rows.push(['Behind primary', status.lag.missing.length === 0 ? 'up to date' : status.lag.lagSeconds === null ? 'holds nothing' : `${durationText(status.lag.lagSeconds)} (${status.lag.missing.length} missing)`]);
    }
    return `<article class="card ${l.reachable ? 'ok' : 'critical'}" data-location="${escapeHtml(l.name)}"><h3>${escapeHtml(l.name)}</h3><p class="where">${escapeHtml(l.description)}</p>${definitionList(rows)}</article>`;
  });
  if (!status.locations.some((l) => l.name === 'secondary')) cards.push('<article class="card warning" data-location="secondary"><h3>secondary</h3><p>Not configured (BANTAY_SECONDARY_STORE).</p></article>');
  return `<section><h2>Storage</h2>${cards.join('')}</section>`;
}

function drillSection(status: OpsStatus, when: (d: Date) => string): string {
  const d = status.drill;
  const objectives = `Objectives: RTO ${durationText(status.objectives.rtoSeconds)}, RPO ${durationText(status.objectives.rpoSeconds)}`;
  if (!d) return `<section><h2>Last drill</h2><article class="card warning" data-drill="none"><p>No drill has run yet. ${escapeHtml(objectives)}.</p></article></section>`;
  const measured = (v: number | null, objective: number) => (v === null ? 'not measured' : `${durationText(v)} (${v <= objective ? 'within' : 'OVER'} ${durationText(objective)})`);
  const rows: Array<[string, string]> = [
    ['When', when(d.startedAt)],
    ['Result', d.passed ? 'passed' : 'FAILED'],
    ['RTO achieved', measured(d.rtoSeconds, d.objectives.rtoSeconds)],
    ['RPO achieved', measured(d.rpoSeconds, d.objectives.rpoSeconds)],
    ...d.items.map((i): [string, string] => [i.kind, `${i.status}${i.rtoSeconds !== null ? `, restored in ${durationText(i.rtoSeconds)}` : ''}`]),
  ];
  return `<section><h2>Last drill</h2><article class="card ${d.passed ? 'ok' : 'critical'}" data-drill="${escapeHtml(d.id)}">${definitionList(rows)}</article></section>`;
}

function scheduleSection(status: OpsStatus, when: (d: Date) => string): string {
  const rows = status.schedule.map((s) => {
    const next = s.expression === null ? 'off' : s.next ? when(s.next) : '—';
    const last = s.lastFire ? `${when(s.lastFire.fireAt)} ${s.lastFire.status}` : '—';
    return `<tr class="${s.lastFire && !['succeeded', 'running'].includes(s.lastFire.status) ? 'critical' : ''}"><td>${escapeHtml(s.description)}</td><td>${escapeHtml(next)}</td><td>${escapeHtml(last)}</td></tr>`;
  });
  return `<section><h2>Schedule</h2><table><thead><tr><th>Job</th><th>Next</th><th>Last</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

function definitionList(rows: Array<[string, string]>): string {
  return `<dl>${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

function cls(severity: string): string {
  return ['ok', 'warning', 'critical'].includes(severity) ? severity : 'warning';
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:15px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f5f7;color:#1d1f23}
header{padding:14px 16px;color:#fff}header h1{margin:0;font-size:1.2em}header p{margin:4px 0 0}
header.ok{background:#1f7a3a}header.warning{background:#a86400}header.critical{background:#b3261e}
section{padding:8px 12px}h2{font-size:1em;margin:10px 4px;text-transform:uppercase;letter-spacing:.04em;color:#555}
.card{background:#fff;border-radius:8px;padding:10px 12px;margin:8px 0;border-left:5px solid #999}
.card.ok{border-color:#1f7a3a}.card.warning{border-color:#a86400}.card.critical{border-color:#b3261e}
.card h3{margin:0 0 6px;font-size:1.05em;text-transform:capitalize}.badge{font-size:.75em;font-weight:normal;color:#555}
.where{margin:0 0 6px;color:#555;font-size:.85em;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}dt{color:#555}dd{margin:0;overflow-wrap:anywhere}
ul.alerts{list-style:none;padding:0;margin:0}ul.alerts li{background:#fff;border-radius:8px;padding:8px 10px;margin:6px 0;border-left:5px solid #a86400}
ul.alerts li.critical{border-color:#b3261e}table{width:100%;border-collapse:collapse;background:#fff;border-radius:8px;font-size:.9em}
td,th{text-align:left;padding:6px 8px;border-bottom:1px solid #eee}tr.critical td{color:#b3261e}
footer{padding:12px 16px 24px;color:#666;font-size:.85em}
@media (min-width:720px){section{max-width:960px;margin:0 auto}}
`;
