import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../src/', import.meta.url).pathname;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('imports flow one way: bot -> jobs -> storage', () => {
  it('nothing outside src/bot and the CLI commands that start it imports the bot or Slack', () => {
    const offenders = filesUnder(root)
      .filter((f) => !f.startsWith(join(root, 'bot')) && !/cli\/commands\/(serve|serve-run|console)\.ts$/.test(f))
      .filter((f) => /from ['"](@slack\/|[./]+\/bot\/)/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });
});
