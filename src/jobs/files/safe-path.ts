import { BantayError, ErrorCode } from '../../errors.ts';

/**
 * The rules every path, symlink and mode read from an archive or a file index must pass before
 * anything is written (docs/files-format.md, "Safety"). Each check returns the reason an item
 * is unsafe, or undefined when it is fine; `UnsafeArchiveError` carries the reason.
 */

/** Paths are relative, "/"-separated, at most 4096 bytes, without "", "." or ".." segments. */
export function unsafePathReason(path: string): string | undefined {
  if (path === '') return 'empty path';
  if (path.includes('\0')) return 'NUL byte in path';
  if (Buffer.byteLength(path) > 4096) return 'path longer than 4096 bytes';
  if (path.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:[\\/]/.test(path)) return 'drive-letter path';
  for (const segment of path.split('/')) {
    if (segment === '') return 'empty path segment ("//" or trailing "/")';
    if (segment === '..') return '".." segment';
    if (segment === '.') return '"." segment';
  }
  return undefined;
}

/**
 * A symlink is safe when its target is relative, made of some leading ".." (no more than the
 * link's depth) followed only by names. Forbidding ".." after a name matters: "b/.." is lexically
 * inside the tree but physically outside when b is itself a link to ".". With this rule, and
 * every link's parents being real directories, each link resolves inside the tree.
 */
export function unsafeSymlinkReason(linkPath: string, target: string): string | undefined {
  if (target === '') return 'empty symlink target';
  if (target.includes('\0')) return 'NUL byte in symlink target';
  if (target.startsWith('/')) return `symlink to an absolute path (${target})`;
  const depth = linkPath.split('/').length - 1;
  let ups = 0;
  let seenName = false;
  for (const segment of target.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (seenName) return `symlink target ${target} climbs ("..") after a name`;
      ups += 1;
      if (ups > depth) return `symlink target ${target} points outside the tree`;
    } else {
      seenName = true;
    }
  }
  return undefined;
}

/** setuid, setgid and sticky bits are refused; only permission bits are restored. */
export function unsafeModeReason(mode: number): string | undefined {
  if (!Number.isInteger(mode) || mode < 0) return 'invalid mode';
  if ((mode & 0o7000) !== 0) return `mode ${mode.toString(8)} has setuid/setgid/sticky bits`;
  return undefined;
}

/** Any archive or index item that breaks the rules above: the whole restore is refused. */
export class UnsafeArchiveError extends BantayError {
  constructor(where: string, path: string, reason: string) {
    super(ErrorCode.Integrity, `Refusing ${where}: entry ${JSON.stringify(path.slice(0, 200))} is unsafe (${reason})`);
  }
}

export function assertSafePath(where: string, path: string): void {
  const reason = unsafePathReason(path);
  if (reason !== undefined) throw new UnsafeArchiveError(where, path, reason);
}
