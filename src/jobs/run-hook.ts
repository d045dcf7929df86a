import { spawn } from 'node:child_process';
import { BantayError, ErrorCode } from '../errors.ts';
import { redactSecrets } from '../log/redact.ts';
import { allowListedEnv } from './child-env.ts';

const OUTPUT_LIMIT = 64 * 1024;

export interface HookResult {
  command: string;
  seconds: number;
  /** Last part of stdout and stderr, redacted. */
  output: string;
}

/**
 * Splits a configured command line into argv the way a person expects, without a shell: words
 * separated by whitespace, 'single' and "double" quotes group words, a backslash escapes the
 * next character outside single quotes. No variables, globs, pipes or redirections: a hook
 * needing those is a script, named here.
 */
export function parseCommandLine(line: string): string[] {
  const argv: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (ch === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= '';
    } else if (/\s/.test(ch)) {
      if (word !== undefined) argv.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (quote !== undefined) throw new BantayError(ErrorCode.ConfigInvalid, `Unterminated ${quote} quote in hook command "${redactSecrets(line)}"`);
  if (word !== undefined) argv.push(word);
  if (argv.length === 0) throw new BantayError(ErrorCode.ConfigInvalid, 'Empty hook command');
  return argv;
}

/**
 * Runs a stop/start hook (BANTAY_APP_STOP_CMD, BANTAY_APP_START_CMD) without a shell, with a
 * timeout (SIGTERM, then SIGKILL 5 s later) and an allow-listed environment (child-env.ts): no
 * secret of Bantay's reaches it.
 * Resolves when it exits 0; otherwise rejects with BantayError(TOOL) quoting its output.
 *
 * The hook is done when its process exits, not when its output closes: a start script that
 * backgrounds the server ("node server.js &") leaves the server holding the pipes, and waiting
 * for them would hold the restore until the timeout.
 */
export async function runHook(name: string, command: string, options: { timeoutSeconds: number; signal?: AbortSignal }): Promise<HookResult> {
  const [file, ...args] = parseCommandLine(command);
  const started = Date.now();
  const shown = redactSecrets(command);
  return new Promise((resolve, reject) => {
    let output = '';
    let timedOut = false;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const child = spawn(file!, args, { env: allowListedEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const stop = () => {
      child.kill('SIGTERM');
      timers.push(setTimeout(() => child.kill('SIGKILL'), 5000).unref());
    };
    const onAbort = () => stop();
    const finish = (why: string | undefined, cause?: unknown) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const text = redactSecrets(output).trim();
      if (why === undefined) return resolve({ command: shown, seconds: (Date.now() - started) / 1000, output: text });
      const tail = text.split('\n').slice(-3).join(' | ');
      const aborted = options.signal?.aborted === true;
      reject(new BantayError(aborted ? ErrorCode.Aborted : ErrorCode.Tool, `${name} hook "${shown}" ${aborted ? 'was cancelled' : why}${tail ? `: ${tail}` : ''}`, { cause }));
    };
    timers.push(
      setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutSeconds * 1000),
    );
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => finish(`could not run: ${err.message}`, err));
    child.once('exit', (code, signal) => {
      const why = code === 0 ? undefined : timedOut ? `timed out after ${options.timeoutSeconds}s (BANTAY_HOOK_TIMEOUT)` : code !== null ? `exited with status ${code}` : `was killed by ${signal}`;
      // Output already written arrives before 'close'; a background process keeping the pipes
      // open must not keep us waiting, so give the pipes a moment, then stop reading them.
      child.once('close', () => finish(why));
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(why);
      }, 200);
    });
  });
}
