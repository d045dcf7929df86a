// Types for bin/entry.js (plain JavaScript: it runs before anything is compiled).
export interface Entry {
  kind: 'dist' | 'sources';
  url: string;
  reason?: string;
  helpFile?: string;
}
export function chooseEntry(env: NodeJS.ProcessEnv, root?: string): Entry;
export function staleReason(root?: string): string | undefined;
