/**
 * A strict reader of the Prometheus text exposition format (0.0.4), enough to prove that
 * /metrics parses: every sample belongs to a family declared by exactly one HELP and one TYPE
 * line before it, names and labels are well-formed, values are floats, NaN or ±Inf.
 */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheusText(body: string): { families: Map<string, { type: string; help: string }>; samples: ParsedSample[] } {
  const families = new Map<string, { type: string; help: string }>();
  const helps = new Map<string, string>();
  const samples: ParsedSample[] = [];
  if (!body.endsWith('\n')) throw new Error('exposition must end with a newline');
  body.slice(0, -1).split('\n').forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help) {
      if (helps.has(help[1]!)) throw new Error(`duplicate HELP, ${where}`);
      helps.set(help[1]!, help[2]!);
      return;
    }
    if (type) {
      if (families.has(type[1]!)) throw new Error(`duplicate TYPE, ${where}`);
      families.set(type[1]!, { type: type[2]!, help: helps.get(type[1]!) ?? '' });
      return;
    }
    if (line.startsWith('#') || line === '') throw new Error(`unexpected line, ${where}`);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`malformed sample, ${where}`);
    const name = sample[1]!;
    if (!families.has(name)) throw new Error(`sample before its TYPE, ${where}`);
    const value = sample[4] === '+Inf' ? Infinity : sample[4] === '-Inf' ? -Infinity : sample[4] === 'NaN' ? NaN : Number(sample[4]);
    if (Number.isNaN(value) && sample[4] !== 'NaN') throw new Error(`bad value, ${where}`);
    samples.push({ name, labels: parseLabels(sample[3] ?? '', where), value });
  });
  return { families, samples };
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/y;
  let pos = 0;
  while (pos < text.length) {
    pair.lastIndex = pos;
    const m = pair.exec(text);
    if (!m) throw new Error(`malformed labels, ${where}`);
    labels[m[1]!] = m[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    pos = pair.lastIndex;
  }
  return labels;
}
