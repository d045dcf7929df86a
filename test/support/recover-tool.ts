import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './job-deps.ts';

/** The standalone recovery tool as it ships (recovery/bantay-recover.mjs). */
export const RECOVER_TOOL = fileURLToPath(new URL('../../recovery/bantay-recover.mjs', import.meta.url));

/**
 * A copy of the tool alone in a fresh temporary directory, as on a machine with only Node.js:
 * no node_modules can be reached from there, so an accidental import of a package fails.
 */
export function installTool(): string {
  const dir = tempDir('bantay-kit-');
  copyFileSync(RECOVER_TOOL, join(dir, 'bantay-recover.mjs'));
  return dir;
}

export interface RecoverResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs `node bantay-recover.mjs ARGS` from `cwd` with exactly `env` (plus nothing inherited):
 * the bare environment of a recovery machine. The tool is the copy in `cwd` when present.
 */
export function runRecover(args: string[], env: Record<string, string>, cwd: string, tool = join(cwd, 'bantay-recover.mjs')): Promise<RecoverResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tool, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** Runs a bash script with `set -euo pipefail` and exactly `env` (PATH included by the caller). */
export function runShell(script: string, env: Record<string, string>, cwd: string): Promise<RecoverResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', ['-c', `set -euo pipefail\n${script}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** Writes `bytes` at `key` below a local store root (test fixtures for hand-made objects). */
export function putFile(storeDir: string, key: string, bytes: Buffer | string): void {
  const path = join(storeDir, ...key.split('/'));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}
