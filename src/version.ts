import { readFileSync } from 'node:fs';

/** Bantay's own version, recorded in every manifest. */
export const BANTAY_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
