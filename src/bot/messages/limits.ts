/**
 * Slack's Block Kit limits, checked the way Slack checks them. Builders keep payloads inside
 * these limits by construction (truncating text, capping lists); `findBlockKitViolations` is
 * the proof: the fake Slack API answers `invalid_blocks` when it finds any, and tests assert
 * that no payload the bot sent was ever refused.
 */
export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  viewTitle: 24,
  viewButton: 24,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  privateMetadata: 3000,
  callbackId: 255,
  optionText: 75,
  optionValue: 150,
  options: 100,
  inputLabel: 2000,
  placeholder: 150,
  messageText: 40_000,
} as const;

type Json = Record<string, unknown>;

/** Every limit `payload` breaks, as readable strings; empty when it is fine. */
export function findBlockKitViolations(payload: { blocks?: unknown; view?: unknown; text?: unknown }): string[] {
  const problems: string[] = [];
  limit(problems, 'message text', payload.text, LIMITS.messageText);
  if (Array.isArray(payload.blocks)) checkBlocks(payload.blocks as Json[], LIMITS.messageBlocks, 'message', problems);
  if (payload.view !== undefined) checkView(payload.view as Json, problems);
  return problems;
}

/** Throws with every violation listed; for tests and builders' own unit tests. */
export function assertBlockKitLimits(payload: { blocks?: unknown; view?: unknown; text?: unknown }): void {
  const problems = findBlockKitViolations(payload);
  if (problems.length > 0) throw new Error(`Block Kit limits exceeded:\n- ${problems.join('\n- ')}`);
}

function checkView(view: Json, problems: string[]): void {
  checkBlocks((view.blocks as Json[] | undefined) ?? [], LIMITS.viewBlocks, `${String(view.type)} view`, problems);
  for (const key of ['title', 'submit', 'close'] as const) {
    const text = textOf(view[key]);
    if (text !== undefined && text.length > LIMITS.viewTitle) problems.push(`view ${key} "${text}" is ${text.length} chars (max ${LIMITS.viewTitle})`);
  }
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > LIMITS.privateMetadata) {
    problems.push(`private_metadata is ${view.private_metadata.length} chars (max ${LIMITS.privateMetadata})`);
  }
  if (typeof view.callback_id === 'string' && view.callback_id.length > LIMITS.callbackId) problems.push('callback_id too long');
}

function checkBlocks(blocks: Json[], max: number, where: string, problems: string[]): void {
  if (blocks.length > max) problems.push(`${where} has ${blocks.length} blocks (max ${max})`);
  blocks.forEach((block, i) => checkBlock(block, `${where} block ${i} (${String(block.type)})`, problems));
}

function checkBlock(block: Json, where: string, problems: string[]): void {
  limit(problems, `${where} block_id`, block.block_id, LIMITS.blockId);
  switch (block.type) {
    case 'section': {
      limit(problems, `${where} text`, textOf(block.text), LIMITS.sectionText);
      const fields = (block.fields as Json[] | undefined) ?? [];
      if (fields.length > LIMITS.sectionFields) problems.push(`${where} has ${fields.length} fields (max ${LIMITS.sectionFields})`);
      fields.forEach((f) => limit(problems, `${where} field`, textOf(f), LIMITS.fieldText));
      if (block.accessory) checkElement(block.accessory as Json, where, problems);
      break;
    }
    case 'header':
      limit(problems, `${where} text`, textOf(block.text), LIMITS.headerText);
      break;
    case 'context': {
      const elements = (block.elements as Json[] | undefined) ?? [];
      if (elements.length > LIMITS.contextElements) problems.push(`${where} has ${elements.length} elements (max ${LIMITS.contextElements})`);
      elements.forEach((e) => limit(problems, `${where} element`, textOf(e), LIMITS.sectionText));
      break;
    }
    case 'actions': {
      const elements = (block.elements as Json[] | undefined) ?? [];
      if (elements.length > LIMITS.actionsElements) problems.push(`${where} has ${elements.length} elements (max ${LIMITS.actionsElements})`);
      elements.forEach((e) => checkElement(e, where, problems));
      break;
    }
    case 'input':
      limit(problems, `${where} label`, textOf(block.label), LIMITS.inputLabel);
      if (block.element) checkElement(block.element as Json, where, problems);
      break;
    default:
      break;
  }
}

function checkElement(element: Json, where: string, problems: string[]): void {
  limit(problems, `${where} action_id`, element.action_id, LIMITS.actionId);
  limit(problems, `${where} placeholder`, textOf(element.placeholder), LIMITS.placeholder);
  if (element.type === 'button') {
    limit(problems, `${where} button text`, textOf(element.text), LIMITS.buttonText);
    limit(problems, `${where} button value`, element.value, LIMITS.buttonValue);
  }
  const options = [...((element.options as Json[] | undefined) ?? []), ...((element.option_groups as Json[] | undefined) ?? []).flatMap((g) => (g.options as Json[]) ?? [])];
  if (options.length > LIMITS.options) problems.push(`${where} has ${options.length} options (max ${LIMITS.options})`);
  for (const option of options) {
    limit(problems, `${where} option text`, textOf(option.text), LIMITS.optionText);
    limit(problems, `${where} option description`, textOf(option.description), LIMITS.optionText);
    limit(problems, `${where} option value`, option.value, LIMITS.optionValue);
  }
}

function limit(problems: string[], what: string, value: unknown, max: number): void {
  if (typeof value !== 'string') return;
  if (value.length > max) problems.push(`${what} is ${value.length} chars (max ${max})`);
  // Half an emoji (a text cut in the middle of a surrogate pair) cannot be encoded as UTF-8.
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value)) problems.push(`${what} holds an unpaired UTF-16 surrogate (half a character)`);
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as Json).text === 'string') return (value as Json).text as string;
  return undefined;
}
