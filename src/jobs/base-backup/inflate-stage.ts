import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { Duplex, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { BantayError, ErrorCode } from '../../errors.ts';
import { allowListedEnv } from '../child-env.ts';
import { linkedAbort } from '../job-context.ts';
import { runTool, type RunningTool } from '../pg/run-tool.ts';
import { createEndGate } from '../stream-meter.ts';
import type { BaseCompressionMethod } from './base-compression.ts';

export interface InflateOptions {
  signal?: AbortSignal;
  /**
   * The zstd program: a path, `null` for the in-process decoder, undefined to look for `zstd`
   * on PATH (and fall back to the in-process decoder when there is none).
   */
  zstdPath?: string | null;
}

/**
 * The stages that turn a base backup's stored (decrypted) tar back into a plain tar, as
 * streams to put in a pipeline. A damaged or truncated input fails the pipeline.
 *
 * zstd runs in the `zstd` program when it is installed: native speed (460 MB in 0.5 s here) on
 * another core, with the process's environment allow-listed. Without it, fzstd decodes in
 * process: pure JavaScript, no install step, about gunzip's speed (3.9 s for the same tar), so
 * a restore never depends on a program being present.
 */
export async function inflateStages(method: BaseCompressionMethod, options: InflateOptions = {}): Promise<Duplex[]> {
  if (method === 'none') return [];
  if (method === 'gzip') return [createGunzip()];
  const path = options.zstdPath === undefined ? await findOnPath('zstd') : options.zstdPath;
  return path === null ? [fzstdInflate()] : zstdProgram(path, options.signal);
}

function zstdProgram(path: string, signal: AbortSignal | undefined): Duplex[] {
  const stop = linkedAbort(signal);
  const tool = startZstdDecoder(path, stop.signal);
  void tool.done.catch(() => undefined).finally(() => stop.release());
  const stdin = tool.child.stdin!;
  // An input the pipeline gave up on (its other end failed) must not leave zstd running.
  stdin.on('error', () => undefined);
  const duplex = Duplex.from({ writable: stdin, readable: tool.child.stdout });
  duplex.once('close', () => {
    // Ended normally, zstd is exiting on its own (the end gate waits for its status).
    if (!duplex.readableEnded && tool.child.exitCode === null) stop.abort();
  });
  return [duplex, createEndGate(() => tool.done)];
}

/** The `zstd` program decoding its stdin to its stdout, with the environment allow-listed. */
export function startZstdDecoder(path: string, signal: AbortSignal): RunningTool {
  return runTool(path, ['-d', '-c', '-q'], { env: allowListedEnv(), stdin: true, signal, name: 'zstd' });
}

/** fzstd's streaming decoder as a Transform; its errors (bad frame, truncated input) fail the stream. */
function fzstdInflate(): Transform {
  let decoder: Decompress;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      try {
        decoder.push(chunk);
        callback();
      } catch (err) {
        callback(invalid(err));
      }
    },
    flush(callback) {
      try {
        decoder.push(new Uint8Array(0), true);
        callback();
      } catch (err) {
        callback(invalid(err));
      }
    },
  });
  decoder = new Decompress((data) => {
    stream.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  return stream;
}

function invalid(err: unknown): BantayError {
  return new BantayError(ErrorCode.Integrity, `zstd data could not be decoded: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** The first executable `name` in PATH, or null. */
export async function findOnPath(name: string, path = process.env.PATH ?? ''): Promise<string | null> {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}
