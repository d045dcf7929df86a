/**
 * Exclude globs for files backups (BANTAY_APP_EXCLUDE), with .gitignore-like meaning:
 *
 * - A glob without "/" matches an entry's name at any depth: `node_modules` excludes every
 *   directory or file called node_modules, `*.log` every name ending in .log.
 * - A glob with "/" (or starting with "/") matches the whole path relative to the backed-up
 *   directory: `/dist` or `public/dist` only that one, `storage/**\/cache` at any depth below.
 * - A trailing "/" restricts the glob to directories (`tmp/`).
 * - `*` matches within one name, `?` one character, `**` any number of whole names.
 *
 * An excluded directory is not descended into, so nothing below it is backed up.
 * Written here rather than using path.matchesGlob, which is experimental (and warns) in Node 20.
 */
export type ExcludeMatcher = (relativePath: string, isDirectory: boolean) => boolean;

interface CompiledGlob {
  regex: RegExp;
  /** Matched against the name only (glob had no "/"). */
  nameOnly: boolean;
  directoriesOnly: boolean;
}

export function compileExcludes(globs: readonly string[]): ExcludeMatcher {
  const compiled = globs.map(compileGlob).filter((g): g is CompiledGlob => g !== undefined);
  if (compiled.length === 0) return () => false;
  return (relativePath, isDirectory) => {
    const name = relativePath.slice(relativePath.lastIndexOf('/') + 1);
    return compiled.some((g) => (!g.directoriesOnly || isDirectory) && g.regex.test(g.nameOnly ? name : relativePath));
  };
}

function compileGlob(raw: string): CompiledGlob | undefined {
  let glob = raw.trim();
  const directoriesOnly = glob.endsWith('/');
  if (directoriesOnly) glob = glob.replace(/\/+$/, '');
  const anchored = glob.startsWith('/');
  glob = glob.replace(/^\/+/, '');
  if (glob === '') return undefined;
  return { regex: globToRegExp(glob), nameOnly: !anchored && !glob.includes('/'), directoriesOnly };
}

/** `*` and `?` never cross a "/"; a `**` segment spans zero or more whole segments. */
export function globToRegExp(glob: string): RegExp {
  const segments = glob.split('/').filter((s) => s !== '');
  let source = '';
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '**') {
      source += last ? '.*' : '(?:[^/]+/)*';
      return;
    }
    source += segment.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : `\\${c}`));
    if (!last) source += '/';
  });
  return new RegExp(`^${source}$`, 'u');
}
