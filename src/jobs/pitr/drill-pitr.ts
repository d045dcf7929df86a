import type { DrillSpec } from '../drill.ts';
import { roleOf } from './run-pitr.ts';
import { describeTime } from './target-time.ts';

/**
 * The drill's point-in-time part, from the settings (the CLI's and the bot's alike): set up
 * when WAL is archived (BANTAY_WAL stream or archive), else undefined and the drill skips it.
 */
export function drillPitrOf(o: { wal?: { mode: string; replicationUrl?: string }; dataDir?: string; databaseUrl?: string; timeZone: string }): DrillSpec['pitr'] {
  if (o.wal === undefined || o.wal.mode === 'off' || o.dataDir === undefined) return undefined;
  const tz = o.timeZone;
  return { dataDir: o.dataDir, role: roleOf(o.databaseUrl ?? o.wal.replicationUrl), describeTime: (d) => describeTime(d, tz) };
}
