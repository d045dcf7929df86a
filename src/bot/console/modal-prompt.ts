import type { OpenedView } from '../dev/simulated-slack.ts';
import type { Block } from '../messages/blocks.ts';
import { mrkdwnToText, renderBlocks } from './render.ts';

type Ask = (prompt: string) => Promise<string | undefined>;

/**
 * Shows a modal and asks for each input in turn: Enter keeps the pre-filled value, selects
 * take the option's number or value. Resolves with block id → answer, or undefined when the
 * person cancels (or input ends).
 */
export async function askModal(view: OpenedView, ask: Ask, say: (t: string) => void): Promise<Record<string, string | undefined> | undefined> {
  say(`┌ Modal: ${view.title?.text ?? ''}\n${renderBlocks(view.blocks.filter((b) => b.type !== 'input'), '│ ')}\n└`);
  const answers: Record<string, string | undefined> = {};
  for (const block of view.blocks.filter((b) => b.type === 'input')) {
    const element = block.element as Block;
    const label = mrkdwnToText(String((block.label as { text?: string }).text ?? ''));
    const options = optionsOf(element);
    if (options.length > 0) {
      say(`${label}${block.optional ? ' (optional)' : ''}:`);
      options.forEach((opt, i) => say(`  ${i + 1}) ${opt.text}${opt.description ? ` · ${opt.description}` : ''}`));
    }
    const initial = initialOf(element);
    const answer = await ask(`${options.length > 0 ? 'Choose' : label}${initial ? ` [${initial}]` : block.optional ? ' (Enter to skip)' : ''}: `);
    if (answer === undefined) return undefined;
    if (answer === '') continue;
    const byNumber = /^\d+$/.test(answer) ? options[Number(answer) - 1] : undefined;
    answers[block.block_id as string] = byNumber?.value ?? answer;
  }
  if (!(view as { submit?: unknown }).submit) return undefined;
  const submit = (view as { submit?: { text?: string } }).submit?.text ?? 'Submit';
  const confirm = await ask(`${submit}? [y/N] `);
  return confirm !== undefined && /^y(es)?$/i.test(confirm) ? answers : undefined;
}

function optionsOf(element: Block): Array<{ text: string; value: string; description?: string }> {
  const flat = [...((element.options as Block[] | undefined) ?? []), ...((element.option_groups as Array<{ options: Block[] }> | undefined) ?? []).flatMap((g) => g.options)];
  return flat.map((o) => ({ text: String((o.text as { text: string }).text), value: String(o.value), description: (o.description as { text?: string } | undefined)?.text }));
}

function initialOf(element: Block): string | undefined {
  if (typeof element.initial_value === 'string') return element.initial_value;
  const option = element.initial_option as { text?: { text?: string }; value?: string } | undefined;
  return option?.text?.text ?? option?.value;
}
