#!/usr/bin/env node
// Entry point for `npx bantay` and the Docker image. TypeScript runs directly through tsx,
// so there is no build step to forget and no stale dist/ to debug at 3 a.m.
import { register } from 'tsx/esm/api';

register();
// `bantay export-sql latest | head` closes our stdout early: that is the reader's choice, not
// an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
