import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.ts';

function sink() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (b: Buffer) => (text += b.toString()));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

/** Runs the real CLI in-process with its own environment and working directory; never exits. */
export async function bantay(args: string[], env: Record<string, string>, cwd: string, options: { logLevel?: string } = {}) {
  const stdout = sink();
  const stderr = sink();
  const fullEnv = options.logLevel ? { BANTAY_LOG_LEVEL: options.logLevel, ...env } : env;
  const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, env: fullEnv, cwd, signal: new AbortController().signal });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
