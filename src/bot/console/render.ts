import type { Block } from '../messages/blocks.ts';

/**
 * Block Kit as terminal text, close to what Slack shows: mrkdwn markers dropped, mentions as
 * @U…, links as "text (url)", dates as their fallback, buttons as [Label], inputs as ▸ prompts.
 */
export function mrkdwnToText(text: string): string {
  return text
    .replace(/<!date\^\d+\^[^|>]*\|([^>]*)>/g, '$1')
    .replace(/<@([A-Z0-9]+)>/g, '@$1')
    .replace(/<#([A-Z0-9]+)(\|[^>]*)?>/g, '#$1')
    .replace(/<([^|>]+)\|([^>]+)>/g, '$2 ($1)')
    .replace(/<(https?:[^>]+)>/g, '$1')
    .replace(/```/g, '')
    .replace(/(^|[\s(])\*([^*\n]+)\*/g, '$1$2')
    .replace(/(^|[\s(])_([^_\n]+)_/g, '$1$2')
    .replace(/`([^`\n]+)`/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/:white_check_mark:/g, '✅')
    .replace(/:x:/g, '❌')
    .replace(/:warning:/g, '⚠️')
    .replace(/:rotating_light:/g, '🚨')
    .replace(/:hourglass_flowing_sand:|:hourglass:/g, '⏳')
    .replace(/:no_entry:/g, '⛔')
    .replace(/:[a-z_]+:/g, '');
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const t = (value as { text?: unknown } | undefined)?.text;
  return typeof t === 'string' ? mrkdwnToText(t) : '';
}

export function renderBlocks(blocks: readonly Block[] | undefined, indent = '  '): string {
  const lines: string[] = [];
  for (const b of blocks ?? []) {
    switch (b.type) {
      case 'header':
        lines.push(textOf(b.text).toUpperCase());
        break;
      case 'section':
        if (b.text) lines.push(textOf(b.text));
        for (const f of (b.fields as unknown[] | undefined) ?? []) lines.push(`  ${textOf(f).replace('\n', ': ')}`);
        break;
      case 'context':
        lines.push(`  · ${((b.elements as unknown[] | undefined) ?? []).map(textOf).join(' · ')}`);
        break;
      case 'divider':
        lines.push('  ────────');
        break;
      case 'actions':
        lines.push(((b.elements as Block[] | undefined) ?? []).map((e) => `[${textOf(e.text)}]`).join(' '));
        break;
      case 'input':
        lines.push(`  ▸ ${textOf(b.label)}${b.optional ? ' (optional)' : ''}`);
        break;
      default:
        break;
    }
  }
  return lines
    .join('\n')
    .split('\n')
    .map((l) => `${indent}${l}`)
    .join('\n');
}
