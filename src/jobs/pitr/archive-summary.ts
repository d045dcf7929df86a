import { text } from 'node:stream/consumers';
import type { ArchiveIdentity } from '../wal/archive-layout.ts';
import { walDir } from '../wal/archive-layout.ts';
import { openWalFile } from '../wal/fetch-wal.ts';
import type { WalDeps } from '../wal/push-wal.ts';
import { timelineOf, walFileKind } from '../wal/wal-names.ts';
import { parseHistory, type ArchiveSummary } from './plan-pitr.ts';

/**
 * Reads what the archive holds for planning: one listing (a file is archived when its record
 * exists; the record's store time is when it was confirmed) and every timeline history file,
 * each authenticated and checked like any fetched WAL file.
 */
export async function summarizeArchive(identity: ArchiveIdentity, deps: WalDeps): Promise<ArchiveSummary> {
  const files = new Map<string, Date>();
  const prefix = walDir(identity.systemIdentifier);
  for await (const info of deps.store.list(prefix)) {
    const name = info.key.slice(prefix.length);
    if (!name.endsWith('.json')) continue;
    const walName = name.slice(0, -'.json'.length);
    if (walFileKind(walName) !== undefined) files.set(walName, info.modifiedAt);
  }
  const histories = new Map<number, Array<{ parent: number; switchLsn: bigint }>>();
  for (const name of files.keys()) {
    if (walFileKind(name) !== 'history') continue;
    const opened = await openWalFile(name, deps, { identity });
    histories.set(timelineOf(name), parseHistory(await text(opened.stream)));
  }
  return { files, histories, segmentSize: identity.segmentSize };
}
