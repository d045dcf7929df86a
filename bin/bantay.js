#!/usr/bin/env node
// Entry point for `npx bantay`, `bantay serve` and the Docker image.
//
// It runs the plain JavaScript that `npm run build` (and `npm ci`, through `prepare`) compiles
// into dist/: no compiler at run time, so `bantay --help` answers at once. A stale dist/ silently
// running yesterday's code would be worse than a slow start, so dist/ is used only when it is
// fresh (see bin/entry.js); otherwise the sources run through tsx, exactly as before the build
// existed. BANTAY_RUN_SOURCES=1 forces the sources.
import { readFileSync } from 'node:fs';
import { chooseEntry } from './entry.js';

const HELP_WORDS = new Set(['--help', '-h', 'help']);

// `bantay export-sql latest | head` closes our stdout early: that is the reader's choice, not
// an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const entry = chooseEntry(process.env);
const argv = process.argv.slice(2);
if (entry.kind === 'dist' && argv.length === 1 && HELP_WORDS.has(argv[0])) {
  // The build rendered this text from the same program definition (scripts/build.js).
  process.stdout.write(readFileSync(entry.helpFile, 'utf8'));
  process.exit(0);
}
if (entry.kind === 'sources') {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    console.error(`bantay: ${entry.reason}, and tsx (a development dependency) is not installed. Run \`npm run build\` or \`npm ci\`.`);
    process.exit(70);
  }
  register();
}
// The AWS SDK prints a seven-line reminder on Node 20 that its releases after January 2027 need
// Node 22. It is for whoever upgrades the dependencies (the README says so; the Docker image runs
// Node 22), not for an operator reading a restore's output: silenced unless set explicitly.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import(entry.url);
process.exitCode = await main(argv);
