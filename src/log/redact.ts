/**
 * Secret scrubbing for every string that leaves the process: log lines, error messages, Slack
 * text. Two layers: patterns that look like secrets whatever their value (passwords inside
 * connection URLs, bearer/Slack tokens, password= pairs), and exact values registered at start
 * from the configuration (keys, AWS secrets, the database password).
 */
const registered = new Set<string>();

/** Remembers a secret value so `redactSecrets` removes it wherever it appears. */
export function registerSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= 6) registered.add(value);
}

/** Registers the password inside a connection URL, plus the URL itself. */
export function registerUrlSecrets(url: string | undefined): void {
  if (url === undefined) return;
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') {
      registerSecret(parsed.password);
      registerSecret(decodeURIComponent(parsed.password));
    }
  } catch {
    // Not a URL: nothing to extract; config validation reports it.
  }
}

const PATTERNS: Array<[RegExp, string]> = [
  // scheme://user:password@host -> scheme://user:***@host
  [/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@/\s]*@/gi, '$1:***@'],
  [/\bxox[abposr]-[A-Za-z0-9-]+/g, 'xox*-***'],
  [/\bxapp-[A-Za-z0-9-]+/g, 'xapp-***'],
  [/\b(password|passwd|pwd|secret|token|PGPASSWORD)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&,;]+)/gi, '$1$2***'],
  [/(Bearer\s+)[A-Za-z0-9._~+/-]+=*/g, '$1***'],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of registered) {
    if (out.includes(secret)) out = out.split(secret).join('***');
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

// Field names whose values are secrets. Anchored where a plain substring would also hit
// harmless fields ("passed", "bypass", "keyId").
const SECRET_KEY = /password|passwd|^pass$|^pwd$|secret|token|^key$|apikey|privatekey|encryptionkey|authorization|cookie/i;

/** Deep copy of a log object with secret-named fields masked and every string scrubbed. */
export function redactObject(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (Array.isArray(value)) return value.map((v) => redactObject(v, depth + 1));
  if (value instanceof Error) return redactError(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null ? '***' : redactObject(v, depth + 1);
  }
  return out;
}

function redactError(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: redactSecrets(err.message) };
  if (err.stack) out.stack = redactSecrets(err.stack);
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  const details = (err as { details?: unknown }).details;
  if (Array.isArray(details) && details.length > 0) out.details = redactObject(details, 1);
  if (err.cause !== undefined) out.cause = redactObject(err.cause, 1);
  return out;
}
