import { join } from 'node:path';

/**
 * Where `bantay wal stream` reports its state for `wal status`, App Home and monitoring: beside
 * its backlog (BANTAY_DATA_DIR/wal/backlog). Its own module, so `wal push` (run by
 * archive_command for every segment) does not load the streamer to find it.
 */
export function streamStatusFileOf(dataDir: string): string {
  return join(dataDir, 'wal', 'stream-status.json');
}
