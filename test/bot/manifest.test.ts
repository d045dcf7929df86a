import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SlashCommand } from '../../src/bot/action-ids.ts';
import { USAGE } from '../../src/bot/job-spec.ts';
import { parseYamlSubset } from './yaml-subset.ts';

type Manifest = {
  display_information: { name: string; description: string; long_description: string; background_color: string };
  features: {
    app_home: { home_tab_enabled: boolean; messages_tab_enabled: boolean };
    bot_user: { display_name: string; always_online: boolean };
    slash_commands: Array<{ command: string; description: string; usage_hint?: string; should_escape: boolean }>;
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { bot_events: string[] }; interactivity: { is_enabled: boolean }; socket_mode_enabled: boolean };
};

const manifest = parseYamlSubset(readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8')) as unknown as Manifest;

describe('manifest.yml', () => {
  it('declares exactly the slash commands the bot handles, within Slack limits', () => {
    const commands = manifest.features.slash_commands;
    expect(commands.map((c) => c.command).sort()).toEqual(Object.values(SlashCommand).sort());
    for (const c of commands) {
      expect(c.command).toMatch(/^\/[a-z0-9_-]{1,31}$/);
      expect(c.description.length).toBeGreaterThan(0);
      expect(c.description.length).toBeLessThanOrEqual(2000);
      expect((c.usage_hint ?? '').length).toBeLessThanOrEqual(1000);
      expect(USAGE[c.command]).toBeDefined();
    }
  });

  it('has valid display information, a bot user, App Home and the scopes the bot calls need', () => {
    const d = manifest.display_information;
    expect(d.name.length).toBeLessThanOrEqual(35);
    expect(d.description.length).toBeLessThanOrEqual(140);
    expect(d.long_description.length).toBeGreaterThanOrEqual(175);
    expect(d.long_description.length).toBeLessThanOrEqual(4000);
    expect(d.background_color).toMatch(/^#[0-9a-f]{6}$/i);
    expect(manifest.features.bot_user.display_name.length).toBeLessThanOrEqual(80);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    // commands: slash commands; chat:write(.public): progress and approvals in #incidents without
    // inviting the bot first; usergroups:read: BANTAY_APPROVERS / OPERATORS given as user groups;
    // app_mentions:read: an @-mention of the bot is answered with the command list.
    expect(manifest.oauth_config.scopes.bot).toEqual(expect.arrayContaining(['commands', 'chat:write', 'chat:write.public', 'usergroups:read', 'app_mentions:read']));
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_home_opened', 'app_mention']);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
  });
});
