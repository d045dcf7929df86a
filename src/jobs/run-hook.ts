import { execFile } from 'node:child_process';
import { BantayError, ErrorCode } from '../errors.ts';
import { redactSecrets } from '../log/redact.ts';

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
 * timeout (SIGTERM, then SIGKILL 5 s later) and without Bantay's secrets in its environment.
 * Resolves when it exits 0; otherwise rejects with BantayError(TOOL) quoting its output.
 */
export async function runHook(name: string, command: string, options: { timeoutSeconds: number; signal?: AbortSignal }): Promise<HookResult> {
  const [file, ...args] = parseCommandLine(command);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = execFile(
      file!,
      args,
      { timeout: options.timeoutSeconds * 1000, killSignal: 'SIGTERM', maxBuffer: OUTPUT_LIMIT * 4, env: hookEnv(), signal: options.signal, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const output = redactSecrets(`${stdout}${stderr}`.slice(-OUTPUT_LIMIT)).trim();
        const seconds = (Date.now() - started) / 1000;
        if (!err) return resolve({ command: redactSecrets(command), seconds, output });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        const why = options.signal?.aborted
          ? 'was cancelled'
          : e.killed
            ? `timed out after ${options.timeoutSeconds}s (BANTAY_HOOK_TIMEOUT)`
            : typeof e.code === 'number'
              ? `exited with status ${e.code}`
              : `could not run: ${e.message}`;
        const tail = output.split('\n').slice(-3).join(' | ');
        reject(new BantayError(options.signal?.aborted ? ErrorCode.Aborted : ErrorCode.Tool, `${name} hook "${redactSecrets(command)}" ${why}${tail ? `: ${tail}` : ''}`, { cause: err }));
      },
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutSeconds * 1000 + 5000);
    timer.unref();
    child.once('exit', () => clearTimeout(timer));
  });
}

/** The parent's environment minus database credentials and anything that looks like a secret. */
function hookEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('PG') && k !== 'DATABASE_URL' && k !== 'BANTAY_STATE_URL' && !/SECRET|TOKEN|PASSWORD|KEY/i.test(k)) env[k] = v;
  }
  return env;
}
