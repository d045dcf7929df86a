import { BantayError, ErrorCode } from '../errors.ts';

/**
 * RFC 8785 JSON Canonicalization Scheme for the values Bantay's records hold (strings, finite
 * numbers, booleans, null, arrays, objects): members sorted by their names' UTF-16 code units
 * (JavaScript's default string order), no whitespace, strings and numbers as JSON.stringify
 * writes them (which is what RFC 8785 specifies for ECMAScript). Members whose value is
 * undefined are dropped, as JSON.stringify drops them, so a record canonicalises the same
 * before it is written and after it is read back.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new BantayError(ErrorCode.Internal, 'a catalog record holds a non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new BantayError(ErrorCode.Internal, `a catalog record holds a ${typeof value}, which JSON cannot carry`);
}
