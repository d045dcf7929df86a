#!/usr/bin/env node
// Entry point for `npx bantay` and the Docker image. TypeScript runs directly through tsx,
// so there is no build step to forget and no stale dist/ to debug at 3 a.m.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
