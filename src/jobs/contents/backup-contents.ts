import type { ManifestContents } from '../../catalog/manifest.ts';
import { captureGlobals } from '../globals/capture-globals.ts';
import type { ClusterGlobals } from '../globals/globals-format.ts';
import type { SourceSnapshot } from '../pg/snapshot.ts';
import type { SequenceState } from './read-contents.ts';

export interface CapturedContents {
  tables: Record<string, number>;
  contents: ManifestContents;
  globals: ClusterGlobals;
}

/**
 * What a database backup records besides the dump, read on the snapshot's connection while
 * pg_dump runs: row counts and contents in the dump's snapshot, and the cluster globals.
 * Sequences are the exception (not transactional): read once here, before pg_dump starts, and
 * once more by `finish` after it ended, so the value in the dump lies between the two.
 */
export async function startContentCapture(snapshot: SourceSnapshot, backupId: string, options: { passwords: boolean }) {
  const before = await snapshot.readSequences();
  const reading = (async () => {
    const contents = await snapshot.readContents();
    const globals = await captureGlobals(snapshot.client, backupId, options);
    return { contents, globals };
  })();
  // Handled by the caller once the dump is under way; if the job fails before that (pg_dump
  // refused to start), the snapshot's connection closes under these reads and their rejection
  // must not become an unhandled one that takes the process down.
  reading.catch(() => undefined);
  return {
    /** Settles with the first failure of the reads, e.g. to stop the dump at once. */
    reading,
    async finish(): Promise<CapturedContents> {
      const { contents, globals } = await reading;
      const after = await snapshot.readSequences();
      const { tables, sequences: _ignored, ...rest } = contents;
      return { tables, contents: { keyFormat: 'quoted-v1', ...rest, sequences: bracketSequences(before, after) }, globals };
    },
  };
}

function bracketSequences(before: Record<string, SequenceState>, after: Record<string, SequenceState>): ManifestContents['sequences'] {
  const out: ManifestContents['sequences'] = {};
  for (const [name, b] of Object.entries(before)) {
    const a = after[name];
    const moved = a !== undefined && (a.lastValue !== b.lastValue || a.isCalled !== b.isCalled);
    out[name] = moved ? { ...b, after: a } : { ...b };
  }
  return out;
}
