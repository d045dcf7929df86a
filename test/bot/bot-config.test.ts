import { describe, expect, it } from 'vitest';
import { approverWarning, requireBotConfig } from '../../src/bot/bot-config.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { BantayError } from '../../src/errors.ts';

const load = (env: Record<string, string>) => loadConfig({ env, cwd: '/tmp', dotenv: false });

describe('bantay serve configuration', () => {
  it('lists every missing setting at once', () => {
    const err = (() => {
      try {
        requireBotConfig(load({}));
      } catch (e) {
        return e as BantayError;
      }
      throw new Error('expected a config error');
    })();
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details.map((d) => d.split(/[: ]/)[0])).toEqual(['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_CHANNEL', 'DATABASE_URL', 'BANTAY_OPERATORS']);
  });

  it('Socket Mode when SLACK_APP_TOKEN is set, HTTP on BANTAY_HTTP_PORT otherwise', () => {
    const base = { SLACK_BOT_TOKEN: 'xoxb-1-2', SLACK_CHANNEL: 'C0123ABC', DATABASE_URL: 'postgres://u:p@h/fbms', BANTAY_APPROVERS: 'U0A, U0B,S0GROUP', BANTAY_APPROVAL_TTL: '45m' };
    const socket = requireBotConfig(load({ ...base, SLACK_APP_TOKEN: 'xapp-1-x', SLACK_SIGNING_SECRET: 'abc123' }));
    expect(socket.mode).toEqual({ type: 'socket', appToken: 'xapp-1-x' });
    expect(socket.settings).toMatchObject({ channel: 'C0123ABC', approvers: ['U0A', 'U0B', 'S0GROUP'], operators: [], approvalTtlSeconds: 2700 });
    const http = requireBotConfig(load({ ...base, SLACK_SIGNING_SECRET: 'abc123', BANTAY_HTTP_PORT: '8080' }));
    expect(http.mode).toEqual({ type: 'http', signingSecret: 'abc123', port: 8080 });
  });

  it('rejects malformed values without echoing them', () => {
    const err = (() => {
      try {
        load({ SLACK_BOT_TOKEN: 'xoxp-secret-user-token', SLACK_CHANNEL: '#incidents', BANTAY_APPROVERS: 'alice', BANTAY_APPROVAL_TTL: 'soon', SLACK_API_URL: 'ftp://x' });
      } catch (e) {
        return e as BantayError;
      }
      throw new Error('expected a config error');
    })();
    const text = err.details.join('\n');
    expect(text).toMatch(/SLACK_BOT_TOKEN/);
    expect(text).toMatch(/SLACK_CHANNEL.*channel id/);
    expect(text).toMatch(/BANTAY_APPROVERS/);
    expect(text).toMatch(/BANTAY_APPROVAL_TTL/);
    expect(text).toMatch(/SLACK_API_URL/);
    expect(text).not.toContain('xoxp-secret-user-token');
  });

  it('warns when the two-person rule cannot be met', () => {
    expect(approverWarning(['U0A'])).toMatch(/fewer than two/);
    expect(approverWarning(['U0A', 'U0B'])).toBeUndefined();
    expect(approverWarning(['S0GROUP'])).toBeUndefined();
  });
});
