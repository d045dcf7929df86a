#!/usr/bin/env node
// `npm run build` (run by `npm ci` through `prepare`): compiles src/ to plain JavaScript in
// dist/ and then writes dist/.build-stamp, the time the build started, which bin/entry.js
// compares with the sources' mtimes. dist/ is removed first so a deleted source file leaves no
// stale module behind; tsc emits nothing when the code does not compile (noEmitOnError), and
// then there is no stamp and bin/bantay.js runs the sources.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const started = Date.now();
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('build: tsc failed; dist/ is not built and bin/bantay.js will run the sources through tsx');
  process.exit(result.status ?? 1);
}
// `bantay --help` lists every command, so answering it means loading every command's module
// and library (AWS SDK, pg, zod, pino: ~0.7 s). The text depends on nothing but the code, so
// the build renders it once from the same program definition; bin/bantay.js prints it only
// while dist/ is fresh, exactly when running dist/ would print the same bytes.
const rendered = spawnSync(
  process.execPath,
  ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(new URL('../dist/cli/main.js', import.meta.url).href)}); process.exitCode = await main(['--help']);`],
  { cwd: root, encoding: 'utf8', env: { ...process.env, COLUMNS: '80' } },
);
if (rendered.status !== 0 || rendered.stdout === '') {
  console.error(`build: could not render the --help text: ${rendered.stderr}`);
  process.exit(1);
}
writeFileSync(join(root, 'dist', 'help.txt'), rendered.stdout);
// The embedded state database's first initialisation (initdb in WebAssembly) peaks at ~750 MB;
// doing it once here lets every install start from a copy (src/state/pglite-template.ts).
const template = spawnSync(
  process.execPath,
  ['--input-type=module', '-e', `const m = await import(${JSON.stringify(new URL('../dist/state/pglite-template.js', import.meta.url).href)}); await m.makeTemplate();`],
  { cwd: root, stdio: 'inherit' },
);
if (template.status !== 0) {
  console.error('build: could not make the embedded state template');
  process.exit(1);
}
writeFileSync(join(root, 'dist', '.build-stamp'), String(started));
