/**
 * A reader for the YAML subset manifest.yml is written in (no YAML parser is a dependency):
 * nested maps by two-space indentation, lists of scalars and of maps ("- key: value"), plain,
 * single- and double-quoted scalars, true/false, integers and # comments. Anything else throws,
 * so the manifest cannot drift into syntax this reader would misread.
 */
type Node = string | number | boolean | Node[] | { [key: string]: Node };

interface Line {
  indent: number;
  text: string;
  no: number;
}

export function parseYamlSubset(source: string): Node {
  const lines: Line[] = source
    .split('\n')
    .map((raw, i) => ({ raw, no: i + 1 }))
    .filter(({ raw }) => raw.trim() !== '' && !raw.trim().startsWith('#'))
    .map(({ raw, no }) => {
      if (raw.includes('\t')) throw new Error(`line ${no}: tabs are not allowed`);
      return { indent: raw.length - raw.trimStart().length, text: raw.trim(), no };
    });
  let pos = 0;

  function block(indent: number): Node {
    if (lines[pos]!.text.startsWith('- ')) return list(indent);
    return map(indent);
  }

  function map(indent: number): Node {
    const out: Record<string, Node> = {};
    while (pos < lines.length && lines[pos]!.indent === indent && !lines[pos]!.text.startsWith('- ')) {
      const line = lines[pos]!;
      const m = /^([A-Za-z_][A-Za-z0-9_]*):(?:\s+(.*))?$/.exec(line.text);
      if (!m) throw new Error(`line ${line.no}: expected "key: value"`);
      pos += 1;
      if (m[1]! in out) throw new Error(`line ${line.no}: duplicate key ${m[1]}`);
      if (m[2] !== undefined) out[m[1]!] = scalar(m[2], line.no);
      else if (pos < lines.length && lines[pos]!.indent > indent) out[m[1]!] = block(lines[pos]!.indent);
      else if (pos < lines.length && lines[pos]!.indent === indent && lines[pos]!.text.startsWith('- ')) out[m[1]!] = list(indent);
      else throw new Error(`line ${line.no}: ${m[1]} has no value`);
    }
    if (pos < lines.length && lines[pos]!.indent > indent) throw new Error(`line ${lines[pos]!.no}: unexpected indentation`);
    return out;
  }

  function list(indent: number): Node {
    const out: Node[] = [];
    while (pos < lines.length && lines[pos]!.indent === indent && lines[pos]!.text.startsWith('- ')) {
      const line = lines[pos]!;
      const rest = line.text.slice(2);
      if (/^[A-Za-z_][A-Za-z0-9_]*:(\s|$)/.test(rest)) {
        // "- key: value" starts a map whose other keys sit two columns further in.
        lines[pos] = { indent: indent + 2, text: rest, no: line.no };
        out.push(map(indent + 2));
      } else {
        out.push(scalar(rest, line.no));
        pos += 1;
      }
    }
    return out;
  }

  const root = map(0);
  if (pos !== lines.length) throw new Error(`line ${lines[pos]!.no}: unexpected content`);
  return root;
}

function scalar(text: string, no: number): Node {
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2) throw new Error(`line ${no}: unterminated string`);
    return JSON.parse(text) as string;
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw new Error(`line ${no}: unterminated string`);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (/[#]|:\s|^[[{&*!|>%@`]/.test(text)) throw new Error(`line ${no}: quote this value: ${text}`);
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+$/.test(text)) return Number(text);
  return text;
}
