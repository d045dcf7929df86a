import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BantayError, ErrorCode } from '../../errors.ts';
import { SCENARIO_PATTERN, STEP_ACTIONS, type RestoreTo, type Runbook, type RunbookStep, type StepAction } from './model.ts';

/**
 * Runbook files (README, "Incident mode" → "Runbook files"): `<scenario>.md`, a `# Title`, an
 * `Objective: 2 h` line, and numbered steps `1. text [action option=value]`. Every problem of
 * a file is reported at once with its line, so an operator fixes a file in one go.
 */
export function parseRunbook(scenario: string, source: string, fileName = `${scenario}.md`): Runbook {
  const problems: string[] = [];
  let title: string | undefined;
  let objectiveSeconds: number | undefined;
  const description: string[] = [];
  const steps: RunbookStep[] = [];
  source.split(/\r?\n/).forEach((line, index) => {
    const at = `${fileName}:${index + 1}`;
    const heading = /^#\s+(.+)$/.exec(line);
    if (heading && title === undefined) {
      title = heading[1]!.trim();
      return;
    }
    const objective = /^objective:\s*(.+)$/i.exec(line.trim());
    if (objective) {
      objectiveSeconds = parseDuration(objective[1]!);
      if (objectiveSeconds === undefined) problems.push(`${at}: the objective must read like "2 h" or "90 min"`);
      return;
    }
    const step = /^\s*(\d+)\.\s+(.+?)\s*$/.exec(line);
    if (step) {
      const parsed = parseStep(steps.length + 1, step[2]!, at, problems);
      if (Number(step[1]) !== steps.length + 1) problems.push(`${at}: steps must be numbered 1, 2, 3… (found ${step[1]} after ${steps.length})`);
      steps.push(parsed);
      return;
    }
    if (steps.length === 0 && title !== undefined && line.trim() !== '' && !line.startsWith('#')) description.push(line.trim());
  });
  if (title === undefined) problems.push(`${fileName}: no "# Title" line`);
  if (objectiveSeconds === undefined && !problems.some((p) => p.includes('objective'))) problems.push(`${fileName}: no "Objective: 2 h" line`);
  if (steps.length === 0) problems.push(`${fileName}: no numbered steps`);
  if (steps.length > 40) problems.push(`${fileName}: at most 40 steps (found ${steps.length})`);
  if (problems.length > 0) throw new BantayError(ErrorCode.ConfigInvalid, `The runbook ${fileName} cannot be used`, { details: problems });
  return { scenario, title: title!, objectiveSeconds: objectiveSeconds!, description: description.join(' '), steps };
}

function parseStep(number: number, body: string, at: string, problems: string[]): RunbookStep {
  const tagged = /^(.*?)\s*\[([^\]]*)\]$/.exec(body);
  const text = (tagged ? tagged[1]! : body).trim();
  if (text.length === 0 || text.length > 300) problems.push(`${at}: a step's text must be 1 to 300 characters`);
  if (!tagged) return { number, text };
  const [name, ...options] = tagged[2]!.trim().split(/\s+/);
  if (!(STEP_ACTIONS as readonly string[]).includes(name ?? '')) {
    problems.push(`${at}: unknown action "${name ?? ''}" (known: ${STEP_ACTIONS.join(', ')})`);
    return { number, text };
  }
  const step: RunbookStep = { number, text, action: name as StepAction };
  for (const option of options) {
    const match = /^to=(new|in-place)$/.exec(option);
    if (match && step.action !== undefined && step.action.startsWith('restore-')) step.to = match[1] as RestoreTo;
    else problems.push(`${at}: unknown option "${option}" for ${name} (restore actions take to=new or to=in-place)`);
  }
  return step;
}

function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(h|hours?|min|minutes?|m)$/i.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  const seconds = Math.round(match[2]!.toLowerCase().startsWith('h') ? value * 3600 : value * 60);
  return seconds > 0 && seconds <= 30 * 86_400 ? seconds : undefined;
}

/** Every runbook in the directory, by scenario name. A broken file fails the whole read: better at declare time than mid-incident. */
export async function loadRunbooks(dir: string): Promise<Map<string, Runbook>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new BantayError(ErrorCode.ConfigInvalid, `The runbook directory cannot be read`, { cause: err, details: [`BANTAY_RUNBOOK_DIR: ${dir} cannot be read`] });
  }
  const runbooks = new Map<string, Runbook>();
  for (const name of names.sort()) {
    const scenario = name.endsWith('.md') ? name.slice(0, -3) : '';
    if (!SCENARIO_PATTERN.test(scenario) || scenario === 'readme') continue;
    runbooks.set(scenario, parseRunbook(scenario, await readFile(join(dir, name), 'utf8'), name));
  }
  if (runbooks.size === 0) throw new BantayError(ErrorCode.ConfigInvalid, 'There are no runbooks', { details: [`BANTAY_RUNBOOK_DIR: ${dir} holds no <scenario>.md file`] });
  return runbooks;
}

export async function loadRunbook(dir: string, scenario: string): Promise<Runbook> {
  const runbooks = await loadRunbooks(dir);
  const runbook = runbooks.get(scenario);
  if (!runbook) throw new BantayError(ErrorCode.InvalidInput, `There is no runbook for the scenario "${scenario.slice(0, 60)}"`, { details: [`Known scenarios: ${[...runbooks.keys()].join(', ')}`] });
  return runbook;
}
