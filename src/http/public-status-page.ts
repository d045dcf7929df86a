import type { PublicStatus } from '../jobs/incident/public-status.ts';

/**
 * The public status page (BANTAY_PUBLIC_STATUS=on): what users see during an incident. Only
 * the checked public messages and times (src/jobs/incident/public-status.ts), escaped; no
 * script, readable on a phone, refreshed every minute.
 */
const STATE_TEXT: Record<PublicStatus['state'], string> = {
  operational: 'All systems operational',
  investigating: 'Investigating a problem',
  identified: 'Problem identified',
  recovering: 'Restoring service',
  monitoring: 'Service restored, monitoring',
  resolved: 'Resolved',
};

export function buildPublicStatusPage(status: PublicStatus): string {
  const good = status.state === 'operational' || status.state === 'resolved';
  const items = status.incidents
    .map(
      (i) => `<li><strong>${esc(STATE_TEXT[i.status])}</strong><p>${esc(i.message)}</p><small>Started ${esc(readable(i.startedAt))} · updated ${esc(readable(i.updatedAt))}${i.resolvedAt ? ` · resolved ${esc(readable(i.resolvedAt))}` : ''}</small></li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta http-equiv="refresh" content="60">
<title>${esc(status.service)}: status</title>
<style>body{font-family:system-ui,sans-serif;margin:0;padding:1rem;max-width:40rem;margin:auto;line-height:1.45;font-size:1.05rem}
h1{font-size:1.3rem}.state{padding:1rem;border-radius:.5rem;color:#fff;background:${good ? '#1f7a3a' : '#b3261e'};font-weight:600}
ul{list-style:none;padding:0}li{border-bottom:1px solid #ddd;padding:.75rem 0}p{margin:.3rem 0}small{color:#555}</style></head>
<body><h1>${esc(status.service)}</h1><div class="state" id="state">${esc(STATE_TEXT[status.state])}</div>
${items === '' ? '<p>No incidents in the last day.</p>' : `<ul>${items}</ul>`}
<small>Last checked ${esc(readable(status.updatedAt))}</small></body></html>
`;
}

function readable(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
