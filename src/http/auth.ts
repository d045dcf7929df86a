import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type AuthResult = 'ok' | 'unauthorized' | 'not-configured';

/**
 * Checks a request against a shared token, accepted three ways so every client can send it:
 * `Authorization: Bearer <token>` (Prometheus, curl), Basic auth with any user name and the
 * token as password (a phone's browser prompts for it), or `?token=<token>` (a bookmark; the
 * page's refresh reloads the same URL). Compared in constant time over SHA-256 digests, so
 * neither the token's content nor its length leaks through timing.
 */
export function checkToken(req: IncomingMessage, expected: string | undefined): AuthResult {
  if (expected === undefined) return 'not-configured';
  return presentedTokens(req).some((t) => sameSecret(t, expected)) ? 'ok' : 'unauthorized';
}

function presentedTokens(req: IncomingMessage): string[] {
  const tokens: string[] = [];
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer?.[1]) tokens.push(bearer[1]);
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon !== -1) tokens.push(decoded.slice(colon + 1));
  }
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
  if (query) tokens.push(query);
  return tokens;
}

function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
