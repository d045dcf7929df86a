import { Transform, type TransformCallback } from 'node:stream';

/**
 * A pass-through that forwards bytes in pieces of at least `minBytes` (except the last), copying
 * small chunks together and passing large ones on as they are. Archives are made of many small
 * pieces (512-byte headers, padding, small files, 64 KiB encrypted frames): every piece costs a
 * trip through each later stage and a write to the store, so batching them saves CPU and
 * syscalls. Memory: at most one batch of `minBytes` plus one chunk.
 */
export function createCoalescer(minBytes: number): Transform {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flushPending = (stream: Transform): void => {
    if (pendingBytes === 0) return;
    stream.push(pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes));
    pending = [];
    pendingBytes = 0;
  };
  return new Transform({
    transform(this: Transform, chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      if (pendingBytes === 0 && chunk.length >= minBytes) {
        callback(null, chunk);
        return;
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= minBytes) flushPending(this);
      callback();
    },
    flush(this: Transform, callback: TransformCallback) {
      flushPending(this);
      callback();
    },
  });
}
