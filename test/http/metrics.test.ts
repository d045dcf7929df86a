import { describe, expect, it } from 'vitest';
import { MetricsBuilder } from '../../src/http/metrics.ts';
import { parsePrometheusText } from './prometheus-parser.ts';

describe('MetricsBuilder', () => {
  it('escapes label values and help text, writes special values the way Prometheus reads them', () => {
    const body = new MetricsBuilder()
      .gauge('x_bytes', 'Help with a \\ backslash\nand a newline.', [{ labels: { location: 'a "quoted"\\path\nnext' }, value: 1.5 }, { value: Infinity }])
      .counter('y_total', 'Counts.', [{ value: NaN }])
      .toString();
    expect(body).toBe(
      '# HELP x_bytes Help with a \\\\ backslash\\nand a newline.\n# TYPE x_bytes gauge\n' +
        'x_bytes{location="a \\"quoted\\"\\\\path\\nnext"} 1.5\nx_bytes +Inf\n# HELP y_total Counts.\n# TYPE y_total counter\ny_total NaN\n',
    );
    const parsed = parsePrometheusText(body);
    expect(parsed.samples[0]!.labels.location).toBe('a "quoted"\\path\nnext');
  });

  it('refuses invalid names and duplicate families', () => {
    expect(() => new MetricsBuilder().gauge('bad-name', 'h', [])).toThrow();
    expect(() => new MetricsBuilder().gauge('a', 'h', []).gauge('a', 'h', [])).toThrow();
  });
});
