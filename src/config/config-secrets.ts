import { registerSecret, registerUrlSecrets } from '../log/redact.ts';
import type { KeyRing } from '../crypto/keys.ts';
import { secretVariables } from './schema.ts';

/**
 * Registers every secret of the configuration for redaction: each variable in secretVariables
 * as given (from the environment or from .env, whichever won), the password inside connection
 * URLs, the webhook URL's secret path, and every text form an encryption key may take (padded
 * and unpadded base64 and base64url, hex), so a key cannot leak by being printed differently.
 * Called by loadConfig with the merged environment, before anything can log.
 */
export function registerConfigSecrets(env: Record<string, string | undefined>, keyRing: KeyRing | undefined): void {
  for (const name of secretVariables) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    registerSecret(value);
    registerSecret(value.trim());
  }
  registerUrlSecrets(env.DATABASE_URL);
  registerUrlSecrets(env.BANTAY_STATE_URL);
  registerWebhookPath(env.BANTAY_ALERT_WEBHOOK_URL);
  for (const text of (env.BANTAY_DECRYPTION_KEYS ?? '').split(/[,\s]+/)) registerKeyText(text);
  registerKeyText(env.BANTAY_ENCRYPTION_KEY);
  if (keyRing?.primary) registerKeyForms(keyRing.primary.key);
}

/** A Slack/Teams webhook's secret is its path; the bare host is not worth hiding. */
function registerWebhookPath(url: string | undefined): void {
  if (url === undefined) return;
  try {
    const parsed = new URL(url);
    if (parsed.pathname.length > 1) registerSecret(parsed.pathname + parsed.search);
    registerUrlSecrets(url);
  } catch {
    // Not a URL: validation reports it; the raw value is registered above.
  }
}

function registerKeyText(text: string | undefined): void {
  const trimmed = text?.trim();
  if (!trimmed) return;
  registerSecret(trimmed);
  const bytes = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64');
  if (bytes.length >= 16) registerKeyForms(bytes);
}

export function registerKeyForms(key: Buffer): void {
  const base64 = key.toString('base64');
  const base64url = key.toString('base64url');
  for (const form of [base64, base64.replace(/=+$/, ''), base64url, base64url.replace(/=+$/, ''), key.toString('hex'), key.toString('hex').toUpperCase()]) {
    registerSecret(form);
  }
}
