import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { BantayError, ErrorCode } from '../../errors.ts';
import { redactSecrets } from '../../log/redact.ts';

const STDERR_TAIL_BYTES = 16 * 1024;

export interface RunningTool {
  child: ChildProcessByStdio<Writable | null, Readable, Readable>;
  /** Resolves when the tool exits with status 0; rejects with its stderr otherwise. */
  done: Promise<void>;
  /** The last lines the tool wrote to stderr, redacted. */
  stderrTail(): string;
}

/**
 * Spawns a PostgreSQL client tool without a shell: arguments are passed as an array, so no
 * user-supplied value is ever interpreted by a shell. Killing on abort is SIGTERM (tools clean
 * up their connections), then SIGKILL after 5 s.
 */
export function runTool(
  path: string,
  args: string[],
  options: {
    env: NodeJS.ProcessEnv;
    signal?: AbortSignal;
    /** true: a pipe we write to; a stream with a descriptor (another tool's stdout): the tool reads it directly. */
    stdin?: boolean | Readable;
    name: string;
    runAs?: { uid: number; gid: number };
  },
): RunningTool {
  const child = spawn(path, args, {
    env: options.env,
    ...(options.runAs === undefined ? {} : { uid: options.runAs.uid, gid: options.runAs.gid }),
    stdio: [options.stdin === true ? 'pipe' : options.stdin || 'ignore', 'pipe', 'pipe'],
  }) as RunningTool['child'];
  let tail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    tail = (tail + s).slice(-STDERR_TAIL_BYTES);
  });
  const onAbort = () => {
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err) => reject(new BantayError(ErrorCode.Tool, `Could not start ${options.name} (${path}): ${err.message}`, { cause: err })));
    child.once('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (code === 0) return resolve();
      if (options.signal?.aborted) return reject(new BantayError(ErrorCode.Aborted, `${options.name} was cancelled`));
      const why = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      reject(new BantayError(ErrorCode.Tool, `${options.name} ${why}: ${lastLines(redactSecrets(tail)) || 'no error output'}`));
    });
  });
  done.catch(() => undefined);
  return { child, done, stderrTail: () => redactSecrets(tail) };
}

function lastLines(text: string, count = 3): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}
