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

/** Runtime (non-type) imports of a file, as src-relative paths. */
function runtimeImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const imports = [...source.matchAll(/^import (?!type )[^;]*?from '(\.[^']+)'/gm)].map((m) => m[1]!);
  return imports.map((spec) => relative(root, join(file, '..', spec)));
}

/**
 * Imports flow one way: surfaces (cli, bot, http) -> jobs -> catalog / storage / state. The
 * schedule sits beside jobs: the scheduler runs callbacks and never imports a job; jobs may use
 * its pure parts (cron evaluation, lease reads for monitoring).
 */
describe('operations layers', () => {
  it.each([
    ['jobs', /^(cli|bot|http)\//],
    ['schedule', /^(cli|bot|http|jobs)\//],
    ['http', /^(cli|bot)\//],
    ['storage', /^(cli|bot|http|jobs|schedule|catalog|state)\//],
    ['catalog', /^(cli|bot|http|jobs|schedule|state)\//],
    ['state', /^(cli|bot|http|jobs|schedule|catalog|storage)\//],
  ])('src/%s imports nothing from the layers above it', (dir, forbidden) => {
    const offenders = filesUnder(join(root, dir)).flatMap((file) =>
      runtimeImports(file).filter((target) => forbidden.test(target)).map((target) => `${relative(root, file)} -> ${target}`),
    );
    expect(offenders).toEqual([]);
  });
});
