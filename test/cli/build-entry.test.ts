import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { chooseEntry } from '../../bin/entry.js';
import { tempDir } from '../support/job-deps.ts';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;

/** A fake checkout: a built dist/ stamped at `stampMs` and one source file. */
function checkout(stampMs: number): string {
  const root = tempDir();
  mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
  mkdirSync(join(root, 'src', 'jobs'), { recursive: true });
  writeFileSync(join(root, 'dist', 'cli', 'main.js'), 'export {}');
  writeFileSync(join(root, 'dist', 'help.txt'), 'Usage: bantay');
  writeFileSync(join(root, 'dist', '.build-stamp'), String(stampMs));
  writeFileSync(join(root, 'src', 'jobs', 'a.ts'), 'export {}');
  const old = new Date(stampMs - 60_000);
  for (const path of [join(root, 'src', 'jobs', 'a.ts'), join(root, 'src', 'jobs'), join(root, 'src')]) utimesSync(path, old, old);
  return root;
}

describe('bin/bantay.js chooses built JavaScript only when it is fresh', () => {
  const now = Date.now();

  it('runs dist/ when nothing under src/ changed after the build', () => {
    expect(chooseEntry({}, checkout(now)).kind).toBe('dist');
  });

  it('runs the sources when a source file is newer than the build', () => {
    const root = checkout(now);
    const later = new Date(now + 5_000);
    utimesSync(join(root, 'src', 'jobs', 'a.ts'), later, later);
    const entry = chooseEntry({}, root);
    expect(entry).toMatchObject({ kind: 'sources' });
    expect(entry.reason).toContain('a.ts changed after the last build');
  });

  it('runs the sources when a file was added or deleted (the directory changed)', () => {
    const root = checkout(now);
    rmSync(join(root, 'src', 'jobs', 'a.ts'));
    expect(chooseEntry({}, root).kind).toBe('sources');
  });

  it('runs the sources when dist/ was never built or the build failed (no stamp)', () => {
    const root = checkout(now);
    rmSync(join(root, 'dist', '.build-stamp'));
    expect(chooseEntry({}, root)).toMatchObject({ kind: 'sources', reason: 'dist/ is not built' });
  });

  it('runs dist/ as it is where there are no sources (the Docker image)', () => {
    const root = checkout(now);
    rmSync(join(root, 'src'), { recursive: true });
    expect(chooseEntry({}, root).kind).toBe('dist');
  });

  it('BANTAY_RUN_SOURCES=1 forces the sources', () => {
    expect(chooseEntry({ BANTAY_RUN_SOURCES: '1' }, checkout(now)).kind).toBe('sources');
  });
});

describe('the build', () => {
  it(
    'produces JavaScript that runs without src/, TypeScript or tsx, as in the Docker image',
    async () => {
      // The image's layout: bin/, dist/, package.json and the production node_modules.
      const build = tempDir();
      for (const name of ['bin', 'src', 'scripts', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(ROOT, name), join(build, name), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'));
      await run(process.execPath, ['scripts/build.js'], { cwd: build });
      const image = tempDir();
      for (const name of ['bin', 'dist', 'package.json']) cpSync(join(build, name), join(image, name), { recursive: true });
      mkdirSync(join(image, 'node_modules'));
      const devOnly = new Set(['tsx', 'typescript', 'vitest', 'esbuild', '.bin']);
      for (const name of readdirSync(join(ROOT, 'node_modules'))) {
        if (!devOnly.has(name)) symlinkSync(join(ROOT, 'node_modules', name), join(image, 'node_modules', name));
      }
      const help = await run(process.execPath, ['bin/bantay.js', '--help'], { cwd: image });
      expect(help.stdout).toMatch(/Exit codes: 0 ok, 1 failed, 2 usage/);
      const store = tempDir();
      const list = await run(process.execPath, ['bin/bantay.js', 'list', '--json'], {
        cwd: image,
        env: { PATH: process.env.PATH, BANTAY_STORE: store, BANTAY_DATA_DIR: join(store, 'data') },
      });
      expect(list.stdout.trim()).toBe('[]');
      // Proof that the compiled code ran, not a compiler: no tsx to fall back to, and the
      // sources' own --help says the same.
      const fromSources = await run(process.execPath, ['bin/bantay.js', '--help'], { cwd: ROOT, env: { ...process.env, BANTAY_RUN_SOURCES: '1' } });
      expect(help.stdout).toBe(fromSources.stdout);
    },
    // A full build (tsc and the state template) on a shared 2-core machine: minutes, not seconds.
    600_000,
  );
});
