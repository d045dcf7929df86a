import { printable } from './backup-id.ts';
import { BantayError, ErrorCode } from '../errors.ts';

/**
 * How manifests name tables, sequences and views: `schema.name`, each part written as an SQL
 * identifier that is double-quoted unless it is a plain lower-case word (`[a-z_][a-z0-9_]*`),
 * with `"` doubled inside quotes. So `"a.b".c` (schema "a.b", table c) and `a."b.c"` (schema a,
 * table "b.c") are different keys, `public.sales` stays as earlier manifests wrote it, and every
 * key parses back to exactly one (schema, name). Quoting does not depend on PostgreSQL's keyword
 * list, so the same name always gets the same key whatever the server version.
 */
export function qualifiedName(schema: string, name: string): string {
  return `${quotePart(schema)}.${quotePart(name)}`;
}

const PLAIN = /^[a-z_][a-z0-9_]*$/;

function quotePart(part: string): string {
  return PLAIN.test(part) ? part : `"${part.replaceAll('"', '""')}"`;
}

export interface ParsedName {
  schema: string;
  name: string;
}

/**
 * Parses a name the way PostgreSQL reads one in SQL: unquoted parts are folded to lower case,
 * quoted parts kept as written. One part means schema "public". Throws with what is wrong.
 */
export function parseQualifiedName(text: string): ParsedName {
  const parts: string[] = [];
  let i = 0;
  const fail = (why: string) => new BantayError(ErrorCode.InvalidInput, `"${printable(text)}" is not a table name: ${why}`);
  while (i <= text.length) {
    if (text[i] === '"') {
      let part = '';
      i += 1;
      for (;;) {
        if (i >= text.length) throw fail('a quoted part is not closed');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        part += text[i];
        i += 1;
      }
      if (part === '') throw fail('a quoted part is empty');
      parts.push(part);
    } else {
      const match = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(i));
      if (!match) throw fail('write schema.table, quoting parts that are not plain words ("My Schema".sales)');
      parts.push(match[0].toLowerCase());
      i += match[0].length;
    }
    if (i === text.length) break;
    if (text[i] !== '.') throw fail('parts are separated by a dot');
    i += 1;
  }
  if (parts.length > 2) throw fail('it has more than schema and table');
  if (parts.some((p) => Buffer.byteLength(p) > 63 || p.includes('\0'))) throw fail('a part is longer than 63 bytes');
  return parts.length === 1 ? { schema: 'public', name: parts[0]! } : { schema: parts[0]!, name: parts[1]! };
}

/** Parses a comma-separated list of table names (BANTAY_REQUIRED_TABLES) into manifest keys; commas inside quotes are part of the name. */
export function parseTableList(text: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      items.push(current);
      current = '';
    } else current += ch;
  }
  items.push(current);
  const keys = items.map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const parsed = parseQualifiedName(s);
    return qualifiedName(parsed.schema, parsed.name);
  });
  return [...new Set(keys)];
}
