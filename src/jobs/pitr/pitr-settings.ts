import type { DrillSpec } from '../drill.ts';
import { describeDatabaseUrl } from '../pg/connection.ts';
import { roleOf, type PitrSpec } from './run-pitr.ts';
import { describeTime } from './target-time.ts';

export interface PitrSettings {
  wal?: { mode: string; replicationUrl?: string };
  dataDir?: string;
  databaseUrl?: string;
  timeZone: string;
}

/**
 * What every point-in-time recovery takes from the settings, whoever starts it (the console's
 * `restore --time`, the bot's incident step, the drill): where its scratch cluster lives, the
 * role it reads as, the FBMS database it copies out, and times in BANTAY_TZ.
 */
export function pitrContextOf(o: PitrSettings & { dataDir: string }): Pick<PitrSpec, 'dataDir' | 'role' | 'database' | 'describeTime'> {
  const tz = o.timeZone;
  return {
    dataDir: o.dataDir,
    role: roleOf(o.databaseUrl ?? o.wal?.replicationUrl),
    database: o.databaseUrl ? describeDatabaseUrl(o.databaseUrl).database : undefined,
    describeTime: (d) => describeTime(d, tz),
  };
}

/**
 * The drill's point-in-time part: set up when WAL is archived (BANTAY_WAL stream or archive),
 * else undefined and the drill skips it.
 */
export function drillPitrOf(o: PitrSettings): DrillSpec['pitr'] {
  if (o.wal === undefined || o.wal.mode === 'off' || o.dataDir === undefined) return undefined;
  return pitrContextOf({ ...o, dataDir: o.dataDir });
}
