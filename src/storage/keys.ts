import { BantayError, ErrorCode } from '../errors.ts';

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._=-]{0,199}$/;

/**
 * Store keys are relative, "/"-separated paths whose segments start with a letter or digit and
 * hold only letters, digits, ".", "_", "=" and "-". That rules out absolute paths, "." and ".."
 * segments, backslashes, NULs and anything a shell or a filesystem would treat specially, so a
 * key can be used as a local path below the store root without escaping it.
 */
export function isValidKey(key: string): boolean {
  if (key.length === 0 || key.length > 1024) return false;
  return key.split('/').every((segment) => SEGMENT.test(segment) && segment !== '.' && segment !== '..');
}

export function assertValidKey(key: string): void {
  if (!isValidKey(key)) {
    throw new BantayError(ErrorCode.InvalidInput, `Invalid storage key ${JSON.stringify(key.slice(0, 80))}`);
  }
}

/** Prefixes for `list` may be empty or end in "/" or a partial segment; same character rules. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (!isValidKey(trimmed)) {
    throw new BantayError(ErrorCode.InvalidInput, `Invalid storage prefix ${JSON.stringify(prefix.slice(0, 80))}`);
  }
}
