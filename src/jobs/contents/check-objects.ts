import type { ManifestContents } from '../../catalog/manifest.ts';
import type { Check } from '../../catalog/verification.ts';
import type { DatabaseContents, SequenceState } from './read-contents.ts';

/**
 * Compares everything in a manifest's `contents` with the restored copy (pure). Data checks
 * (sequences, large objects) always fail on a difference. Structure checks (partitions,
 * inheritance, materialized views, function/trigger/index counts) are what pg_restore errors
 * break first; when the operator accepted those errors they are reported as skipped, with the
 * difference, instead of failing the restore they already chose to accept.
 */
export function checkObjects(recorded: ManifestContents, restored: DatabaseContents, options: { accepted: boolean }): Check[] {
  const structure = [
    ...compareTree('partitions', recorded.partitions, restored.partitions),
    ...compareTree('inheritance', recorded.inheritance, restored.inheritance),
    ...compareViews(recorded.materializedViews, restored.materializedViews),
    ...(['functions', 'triggers', 'indexes'] as const).map((kind) => compareCount(kind, recorded.objects[kind], restored.objects[kind])),
  ].map((c) => (options.accepted && c.status === 'failed' ? { ...c, status: 'skipped' as const, detail: `Accepted with the pg_restore errors: ${c.detail}` } : c));
  return [...compareSequences(recorded.sequences, restored.sequences), compareLargeObjects(recorded.largeObjects, restored.largeObjects), ...structure];
}

function compareTree(kind: 'partitions' | 'inheritance', want: Record<string, string[]>, got: Record<string, string[]>): Check[] {
  const parents = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
  const what = kind === 'partitions' ? 'partitions' : 'inheriting tables';
  return parents.map((parent): Check => {
    const name = `${kind} ${parent}`;
    const w = want[parent];
    const g = got[parent];
    if (w === undefined) return { name, status: 'failed', detail: `${parent} has ${what} in the restored database but not in the manifest: ${g!.join(', ')}` };
    if (g === undefined) return { name, status: 'failed', detail: `${parent} has no ${what} in the restored database (manifest: ${w.join(', ') || 'none'})` };
    const same = w.length === g.length && w.every((x, i) => x === g[i]);
    return same
      ? { name, status: 'passed', detail: `${parent}: ${w.length} ${what}, as in the manifest`, expected: w.length, actual: g.length }
      : { name, status: 'failed', detail: `${parent}: expected ${what} ${w.join(', ') || 'none'}, restored ${g.join(', ') || 'none'}`, expected: w.length, actual: g.length };
  });
}

function compareViews(want: Record<string, boolean>, got: Record<string, boolean>): Check[] {
  const names = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
  const state = (p: boolean) => (p ? 'populated' : 'not populated');
  return names.map((view): Check => {
    const name = `materialized view ${view}`;
    const w = want[view];
    const g = got[view];
    if (w === undefined) return { name, status: 'failed', detail: `${view} is in the restored database but not in the manifest` };
    if (g === undefined) return { name, status: 'failed', detail: `${view} is missing from the restored database` };
    if (w !== g) return { name, status: 'failed', detail: `${view}: ${state(w)} in the backup, ${state(g)} after the restore`, expected: state(w), actual: state(g) };
    const how = w ? ' (pg_restore refreshed it, so its rows are recomputed from the restored tables)' : ' (WITH NO DATA, as in the backup)';
    return { name, status: 'passed', detail: `${view}: ${state(g)}${how}`, expected: state(w), actual: state(g) };
  });
}

function compareCount(kind: 'functions' | 'triggers' | 'indexes', want: number, got: number): Check {
  return want === got
    ? { name: kind, status: 'passed', detail: `${got} ${kind}, as in the backup`, expected: want, actual: got }
    : { name: kind, status: 'failed', detail: `expected ${want} ${kind}, restored ${got}`, expected: want, actual: got };
}

function compareSequences(want: ManifestContents['sequences'], got: Record<string, SequenceState>): Check[] {
  const names = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
  return names.map((seq): Check => {
    const name = `sequence ${seq}`;
    const w = want[seq];
    const g = got[seq];
    if (w === undefined) return { name, status: 'failed', detail: `${seq} is in the restored database but not in the manifest` };
    if (g === undefined) return { name, status: 'failed', detail: `${seq} is missing from the restored database (manifest: last_value ${w.lastValue})` };
    return isSequenceConsistent(w, g)
      ? { name, status: 'passed', detail: `${seq}: last_value ${g.lastValue}${g.isCalled ? '' : ' (not yet called)'}, as in the backup`, expected: w.lastValue, actual: g.lastValue }
      : { name, status: 'failed', detail: `${seq}: expected last_value ${describe(w)}, restored ${g.lastValue}${g.isCalled ? '' : ' (not yet called)'}`, expected: w.lastValue, actual: g.lastValue };
  });
}

/**
 * Exactly the recorded state, or, when the sequence moved while pg_dump ran (`after`), a value
 * between the two readings: sequences ignore snapshots, so the dump holds whatever it read.
 */
export function isSequenceConsistent(w: ManifestContents['sequences'][string], g: SequenceState): boolean {
  const equal = (s: SequenceState) => s.lastValue === g.lastValue && s.isCalled === g.isCalled;
  if (equal(w)) return true;
  if (w.after === undefined) return false;
  if (equal(w.after)) return true;
  const [a, b, v] = [BigInt(w.lastValue), BigInt(w.after.lastValue), BigInt(g.lastValue)];
  return (a <= v && v <= b) || (b <= v && v <= a);
}

function describe(w: ManifestContents['sequences'][string]): string {
  const one = (s: SequenceState) => `${s.lastValue}${s.isCalled ? '' : ' (not yet called)'}`;
  return w.after === undefined ? one(w) : `between ${one(w)} and ${one(w.after)}`;
}

function compareLargeObjects(want: ManifestContents['largeObjects'], got: DatabaseContents['largeObjects']): Check {
  const name = 'large objects';
  if (want.count === got.count && want.sha256 === got.sha256) {
    return { name, status: 'passed', detail: `${got.count} large objects, contents identical to the backup (SHA-256 ${got.sha256.slice(0, 12)}…)`, expected: want.count, actual: got.count };
  }
  const why = want.count === got.count ? 'their contents differ from the backup' : `expected ${want.count}, restored ${got.count}`;
  return { name, status: 'failed', detail: `Large objects: ${why}`, expected: want.count, actual: got.count };
}
