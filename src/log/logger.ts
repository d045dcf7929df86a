import pino, { type Logger } from 'pino';
import { createRequire } from 'node:module';
import type pinoPrettyModule from 'pino-pretty';
import { redactObject, redactSecrets } from './redact.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  /** json (default when not a TTY) or pretty (default on a TTY). */
  format?: 'json' | 'pretty' | undefined;
  /** Where lines go; default stderr so stdout stays clean for --json output. */
  destination?: NodeJS.WritableStream;
}

/**
 * The one logger factory. Every object and message passes through redactObject/redactSecrets,
 * so a password in a URL, a token or a registered key never reaches a log line, whatever the
 * caller logs (including errors with causes).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stderr;
  const isTty = (destination as { isTTY?: boolean }).isTTY === true;
  const format = options.format ?? (isTty ? 'pretty' : 'json');
  const stream = format === 'pretty' ? prettyStream(destination) : destination;
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: 'bantay' },
      serializers: { err: (err: unknown) => redactObject(err) },
      formatters: { log: (object) => redactObject(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    stream,
  );
}

function prettyStream(destination: NodeJS.WritableStream): NodeJS.WritableStream {
  // pino-pretty as a synchronous stream (not a worker transport) so a CLI that exits right
  // after logging loses nothing.
  // Required here, not imported at the top: only a terminal needs it, and loading it costs
  // every non-interactive CLI run (cron, scripts, the bot's JSON logs) start-up time.
  const pinoPretty = createRequire(import.meta.url)('pino-pretty') as typeof pinoPrettyModule;
  return pinoPretty({ destination, colorize: true, ignore: 'pid,hostname,app', translateTime: 'SYS:HH:MM:ss' });
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = pino({ level: 'silent' });
