import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { BantayError, ErrorCode } from '../errors.ts';

/**
 * Where a files backup may be restored from Slack: only under BANTAY_RESTORE_ROOTS. A Slack
 * user names a directory on the bot's server, so without this they could write restored files
 * over /etc or into another service's tree. Paths are compared after resolving symlinks of the
 * part that exists, so a link inside a root cannot lead outside it. Without roots configured,
 * Slack cannot restore files into a directory at all (the CLI still can).
 */
export function restoreDirUnderRoots(name: string, backupId: string, roots: readonly string[]): string {
  if (roots.length === 0) throw new BantayError(ErrorCode.InvalidInput, 'Restoring files into a directory from Slack is not set up on this server. Ask whoever runs Bantay to name the directories Slack may restore into.');
  const wanted = name.trim() === '' ? join(roots[0]!, `bantay-restore-${backupId}`) : name.trim();
  if (!isAbsolute(wanted) || wanted.split(/[\\/]/).includes('..')) throw new BantayError(ErrorCode.InvalidInput, 'Give an absolute directory path without .. (or leave it empty).');
  const real = realOfNearestExisting(resolve(wanted));
  const allowed = roots.map((r) => realOfNearestExisting(resolve(r)));
  if (!allowed.some((root) => isInside(real, root))) {
    throw new BantayError(ErrorCode.InvalidInput, `Slack can restore files only under ${roots.join(', ')}. Pick a directory there.`);
  }
  return resolve(wanted);
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** realpath of the longest existing prefix, with the rest appended. */
function realOfNearestExisting(path: string): string {
  const rest: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(realpathSync(current), ...rest.reverse());
    } catch {
      const parent = dirname(current);
      if (parent === current) return path;
      rest.push(current.slice(parent.length).replace(/^[\\/]/, ''));
      current = parent;
    }
  }
}
