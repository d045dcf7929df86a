import type { Config } from '../config/load-config.ts';
import { internalNamesOf } from '../config/internal-names.ts';
import { BantayError, ErrorCode } from '../errors.ts';
import type { BotMode } from './app.ts';
import type { BotSettings } from './services.ts';

export interface BotStartConfig {
  mode: BotMode;
  botToken: string;
  apiUrl: string | undefined;
  settings: BotSettings;
}

/**
 * What `bantay serve` needs from the configuration, checked all at once: every missing
 * variable is listed (with what it is for), so one restart fixes them all.
 */
export function requireBotConfig(config: Config): BotStartConfig {
  const s = config.slack;
  const missing: string[] = [];
  if (s.botToken === undefined) missing.push('SLACK_BOT_TOKEN: the bot token (xoxb-…) from OAuth & Permissions');
  if (s.appToken === undefined && s.signingSecret === undefined) {
    missing.push('SLACK_APP_TOKEN (xapp-…, Socket Mode, recommended) or SLACK_SIGNING_SECRET (HTTP mode, from Basic Information)');
  }
  if (s.channel === undefined) missing.push('SLACK_CHANNEL: the id of the #incidents channel (C…), where progress, approvals and alerts go');
  if (config.databaseUrl === undefined) missing.push('DATABASE_URL: the FBMS database the bot backs up and restores');
  if (s.operators.length === 0 && s.approvers.length === 0) {
    missing.push('BANTAY_OPERATORS and/or BANTAY_APPROVERS: Slack user ids (U…) or user group ids (S…); without them nobody may use the bot');
  }
  if (missing.length > 0) {
    throw new BantayError(ErrorCode.ConfigInvalid, `bantay serve cannot start: ${missing.length} setting${missing.length > 1 ? 's are' : ' is'} missing`, { details: missing });
  }
  const mode: BotMode = s.appToken !== undefined ? { type: 'socket', appToken: s.appToken } : { type: 'http', signingSecret: s.signingSecret!, port: s.httpPort };
  return {
    mode,
    botToken: s.botToken!,
    apiUrl: s.apiUrl,
    settings: {
      channel: s.channel!,
      operators: s.operators,
      approvers: s.approvers,
      approvalTtlSeconds: s.approvalTtlSeconds,
      alertWebhookUrl: s.alertWebhookUrl,
      progressIntervalMs: s.progressIntervalMs,
      oncall: s.oncall,
      restoreRoots: s.restoreRoots,
      timeZone: s.timeZone,
      incident: { runbookDir: config.incident.runbookDir, serviceName: config.incident.serviceName, internalNames: internalNamesOf(config) },
    },
  };
}

/** A two-person rule needs two people: warn when fewer than two approvers can be counted. */
export function approverWarning(approvers: readonly string[]): string | undefined {
  const users = approvers.filter((a) => !a.startsWith('S')).length;
  const groups = approvers.length - users;
  if (groups === 0 && users < 2) {
    return 'BANTAY_APPROVERS lists fewer than two people: in-place restores need an approver other than the requester, so with one approver that person can never restore in place.';
  }
  return undefined;
}
