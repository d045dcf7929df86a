import { finished, type Duplex, type Readable } from 'node:stream';

/**
 * Pipes `first` through `stages` and returns the last stream. Unlike pipeline(), the first
 * error anywhere (including a stage closing early) is delivered to the consumer of the
 * returned stream as that error, not as a generic "premature close", and every other stage
 * is destroyed. Consumers therefore see exactly why the data cannot be trusted.
 */
export function chainStreams(first: Readable, ...stages: Duplex[]): Readable {
  const all: Array<Readable | Duplex> = [first, ...stages];
  const last = all[all.length - 1]!;
  let failed = false;
  const fail = (err: Error) => {
    if (failed) return;
    failed = true;
    for (const stream of all) if (stream !== last) stream.destroy();
    last.destroy(err);
  };
  for (let i = 0; i < all.length - 1; i += 1) {
    const stream = all[i]!;
    stream.pipe(all[i + 1] as Duplex);
    finished(stream, { writable: false }, (err) => {
      if (err) fail(err);
    });
  }
  last.on('error', (err) => {
    failed = true;
    for (const stream of all) if (stream !== last) stream.destroy();
    void err;
  });
  // A consumer that stops early destroys the returned stream without an error; pipe() would
  // only unpipe, leaving the source (a file descriptor, an HTTP socket) open for good.
  last.once('close', () => {
    for (const stream of all) if (stream !== last) stream.destroy();
  });
  return last as Readable;
}
