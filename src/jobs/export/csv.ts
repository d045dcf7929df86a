/**
 * CSV as RFC 4180 describes it, the way PostgreSQL's COPY ... CSV HEADER writes it: fields are
 * quoted when they contain a comma, a quote, CR or LF, or start or end with a space; quotes
 * inside are doubled; SQL NULL is an empty unquoted field and the empty string is "", so the two
 * stay distinguishable. Values are PostgreSQL's own text output (see export-user.ts).
 */
export function csvField(value: string | null): string {
  if (value === null) return '';
  if (value === '') return '""';
  if (/[",\r\n]/.test(value) || value.startsWith(' ') || value.endsWith(' ')) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

export function csvLine(values: ReadonlyArray<string | null>): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
