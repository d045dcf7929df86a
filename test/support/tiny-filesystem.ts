import { execFileSync } from 'node:child_process';
import { tempDir } from './job-deps.ts';

/**
 * A tmpfs of `size` (e.g. "20m") mounted on a new temporary directory, for full-disk tests; undefined
 * when this process may not mount (not root), and the test then skips. Unmount with unmountTiny.
 */
export function mountTinyFilesystem(prefix: string, size: string, mode = '0700'): string | undefined {
  const dir = tempDir(prefix);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=${mode}`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return undefined;
  }
}

export function unmountTiny(dir: string | undefined): void {
  if (dir) execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
}
