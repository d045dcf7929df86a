// Which code bin/bantay.js runs: the built dist/ or the TypeScript sources through tsx.
//
// Contract: dist/ runs only when it was built from the sources that are here now. The build
// (scripts/build.js) writes dist/.build-stamp with the time it STARTED, after tsc succeeded;
// dist/ is fresh when no file or directory under src/ (a directory's mtime moves when a file
// is added, renamed or deleted) nor the tsconfig files nor package.json changed after that.
// A checkout without src/ (the Docker image copies only dist/) runs dist/ as it is. Walking
// src/ costs a few milliseconds of stat calls: cheap insurance against debugging old code.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** @returns {{ kind: 'dist' | 'sources', url: string, reason?: string, helpFile?: string }} */
export function chooseEntry(env, root = ROOT) {
  const dist = join(root, 'dist', 'cli', 'main.js');
  const sources = { kind: 'sources', url: pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href };
  if (env.BANTAY_RUN_SOURCES === '1') return { ...sources, reason: 'BANTAY_RUN_SOURCES=1' };
  const stale = staleReason(root);
  if (stale !== undefined) return { ...sources, reason: stale };
  return { kind: 'dist', url: pathToFileURL(dist).href, helpFile: join(root, 'dist', 'help.txt') };
}

/** Why dist/ must not run, or undefined when it is fresh. */
export function staleReason(root = ROOT) {
  let stamp;
  try {
    stamp = Number(readFileSync(join(root, 'dist', '.build-stamp'), 'utf8'));
    statSync(join(root, 'dist', 'cli', 'main.js'));
    statSync(join(root, 'dist', 'help.txt'));
  } catch {
    return 'dist/ is not built';
  }
  if (!Number.isFinite(stamp)) return 'dist/.build-stamp is unreadable';
  const src = join(root, 'src');
  if (!exists(src)) return undefined;
  for (const name of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) {
    const path = join(root, name);
    if (exists(path) && statSync(path).mtimeMs > stamp) return `${name} changed after the last build`;
  }
  const newer = newerThan(src, stamp);
  return newer === undefined ? undefined : `${newer} changed after the last build`;
}

function newerThan(dir, stamp) {
  if (statSync(dir).mtimeMs > stamp) return dir;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = newerThan(path, stamp);
      if (found !== undefined) return found;
    } else if (statSync(path).mtimeMs > stamp) {
      return path;
    }
  }
  return undefined;
}

function exists(path) {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
