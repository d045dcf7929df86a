import type { ProgressReporter } from '../jobs/progress.ts';
import type { Logger } from '../log/logger.ts';
import { formatBytes, formatDuration } from './format.ts';

/**
 * The CLI's progress reporter: a one-line bar redrawn at most 10 times a second on a TTY
 * (bytes, rate, elapsed, percentage when the total is known), plain log lines otherwise.
 */
export function createCliReporter(options: { tty: boolean; out: NodeJS.WriteStream; logger: Logger }): ProgressReporter & { done(): void } {
  const { tty, out, logger } = options;
  let phaseStart = Date.now();
  let lastDraw = 0;
  let lastLogged = 0;
  let drawn = false;
  const clear = () => {
    if (drawn) out.write('\r\x1b[2K');
    drawn = false;
  };
  return {
    phase(name, detail) {
      clear();
      phaseStart = Date.now();
      lastLogged = phaseStart;
      logger.info(detail ? `${name}: ${detail}` : name);
    },
    bytes(done, total) {
      const now = Date.now();
      const elapsed = (now - phaseStart) / 1000;
      const rate = elapsed > 0 ? done / elapsed : 0;
      if (tty) {
        if (now - lastDraw < 100) return;
        lastDraw = now;
        out.write(`\r\x1b[2K${renderBar(done, total)} ${formatBytes(done)}  ${formatBytes(rate)}/s  ${formatDuration(elapsed)}`);
        drawn = true;
      } else if (now - lastLogged >= 10_000) {
        lastLogged = now;
        logger.info({ bytes: done, totalBytes: total, bytesPerSecond: Math.round(rate) }, 'progress');
      }
    },
    warn(message) {
      clear();
      logger.warn(message);
    },
    done: clear,
  };
}

function renderBar(done: number, total: number | undefined): string {
  const width = 24;
  if (total === undefined || total <= 0) {
    const pos = Math.floor(Date.now() / 120) % width;
    return `[${' '.repeat(pos)}=${' '.repeat(width - pos - 1)}]`;
  }
  const fraction = Math.min(1, done / total);
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}
