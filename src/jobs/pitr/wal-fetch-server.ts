import { createReadStream } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ErrorCode, isBantayError } from '../../errors.ts';
import type { ArchiveIdentity } from '../wal/archive-layout.ts';
import { openWalFile, writeFileAtomically } from '../wal/fetch-wal.ts';
import type { WalDeps } from '../wal/push-wal.ts';
import { linkedAbort } from '../job-context.ts';
import { DEFAULT_SEGMENT_SIZE, segmentName, segmentNumber, timelineOf, walFileKind } from '../wal/wal-names.ts';

/** The restore_command client (plain JavaScript, no dependencies, starts in milliseconds). */
export const FETCH_CLIENT = fileURLToPath(new URL('../../../bin/bantay-wal-fetch.mjs', import.meta.url));

export interface WalFetchServer {
  socketPath: string;
  /** Files served so far, in order (for the report and the tests). */
  served: string[];
  /** Of those, the ones that were ready before PostgreSQL asked (prefetched). */
  prefetched: string[];
  close(): Promise<void>;
}

export interface WalFetchOptions {
  signal?: AbortSignal;
  onError?: (name: string, err: unknown) => void;
  /**
   * A private directory (0700) for segments fetched ahead: while PostgreSQL replays segment N,
   * the next `prefetch` segments are read, checked and written here, so each restore_command
   * only copies a ready file. Omitted: no prefetching.
   */
  prefetchDir?: string;
  /** Segments fetched ahead (default 2). */
  prefetch?: number;
  /** A fetch ahead that failed other than "not archived (yet)": it is fetched again when asked for. */
  onAheadError?: (name: string, err: unknown) => void;
  /** The segment recovery will ask for first (the base backup's first): it and the next ones are fetched at once. */
  warm?: string;
}

/** A segment fetched ahead: its checked plaintext in a file, or why it could not be. */
interface Ahead {
  done: Promise<{ name: string; sizeBytes: number; path: string } | undefined>;
}

/**
 * Serves WAL files from the archive to the recovery server's restore_command over a Unix
 * socket inside the restore's private directory. This keeps every secret (store credentials,
 * the encryption key) in this process: the server's environment, argv and configuration hold
 * only a socket path. Protocol: the client sends {"name"}\n; the reply is "OK <size>\n", the
 * bytes, then one byte 0 once every check passed (the client renames only then), or
 * "NOTFOUND\n", or "ERROR <message>\n".
 */
export async function startWalFetchServer(socketPath: string, deps: WalDeps, identity: ArchiveIdentity, options: WalFetchOptions = {}): Promise<WalFetchServer> {
  const served: string[] = [];
  const prefetched: string[] = [];
  const sockets = new Set<Socket>();
  const ahead = new Map<string, Ahead>();
  const depth = options.prefetchDir === undefined ? 0 : Math.max(0, options.prefetch ?? 2);
  if (options.prefetchDir !== undefined) await mkdir(options.prefetchDir, { recursive: true, mode: 0o700 });
  // Fetches ahead stop when the server closes (recovery is over: they are not needed) or the job is cancelled.
  const stopAhead = linkedAbort(options.signal);
  let segmentSize = DEFAULT_SEGMENT_SIZE;

  /**
   * Reads `name` into the prefetch directory. Any failure (not archived yet, a network error,
   * a digest mismatch) only means it is not ready: the request for it fetches it afresh and
   * reports what it finds then, so nothing fetched ahead can change an answer.
   */
  const fetchAhead = (name: string) => {
    if (stopAhead.signal.aborted || ahead.has(name)) return;
    const path = join(options.prefetchDir!, name);
    const done = (async () => {
      try {
        const opened = await openWalFile(name, deps, { identity, signal: stopAhead.signal });
        // Only whole segments: the archive's newest (.partial) may still grow.
        if (opened.record.name !== name) {
          opened.stream.destroy();
          return undefined;
        }
        await writeFileAtomically(opened.stream, path, { sync: false });
        return { name, sizeBytes: opened.record.sizeBytes, path };
      } catch (err) {
        await rm(path, { force: true }).catch(() => undefined);
        if (!stopAhead.signal.aborted && !(isBantayError(err) && err.code === ErrorCode.NotFound)) options.onAheadError?.(name, err);
        return undefined;
      }
    })();
    ahead.set(name, { done });
  };

  /** After PostgreSQL asked for segment `name`, it asks for the next ones in order. */
  const prefetchAfter = (name: string) => {
    if (depth === 0 || walFileKind(name) !== 'segment') return;
    const timeline = timelineOf(name);
    const number = segmentNumber(name, segmentSize);
    for (let i = 1n; i <= BigInt(depth); i += 1n) fetchAhead(segmentName(timeline, number + i, segmentSize));
  };

  const take = async (name: string): Promise<{ stream: Readable; sizeBytes: number; name: string } | undefined> => {
    const entry = ahead.get(name);
    if (entry === undefined) return undefined;
    ahead.delete(name);
    const ready = await entry.done;
    if (ready === undefined) return undefined;
    const stream = createReadStream(ready.path);
    stream.once('close', () => void rm(ready.path, { force: true }).catch(() => undefined));
    return { stream, sizeBytes: ready.sizeBytes, name: ready.name };
  };

  if (options.warm !== undefined && depth > 0 && walFileKind(options.warm) === 'segment') {
    fetchAhead(options.warm);
    prefetchAfter(options.warm);
  }

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let request = '';
    socket.on('data', (chunk) => {
      request += chunk.toString('utf8');
      const newline = request.indexOf('\n');
      if (newline < 0 || request.length > 512) return;
      socket.removeAllListeners('data');
      void answer(socket, request.slice(0, newline));
    });
  });
  const answer = async (socket: Socket, line: string) => {
    let name = '';
    try {
      name = String((JSON.parse(line) as { name?: unknown }).name ?? '');
      prefetchAfter(name);
      const ready = await take(name);
      let opened: { stream: Readable; sizeBytes: number; name: string };
      if (ready !== undefined) {
        opened = ready;
      } else {
        const fresh = await openWalFile(name, deps, { identity, signal: options.signal });
        opened = { stream: fresh.stream, sizeBytes: fresh.record.sizeBytes, name: fresh.record.name };
      }
      socket.write(`OK ${opened.sizeBytes}\n`);
      for await (const chunk of opened.stream) {
        if (!socket.write(chunk as Buffer)) await new Promise((resolve) => socket.once('drain', resolve));
      }
      served.push(opened.name);
      if (ready !== undefined) prefetched.push(opened.name);
      // A whole segment's size is the cluster's segment size (initdb --wal-segsize).
      if (walFileKind(opened.name) === 'segment' && isSegmentSize(opened.sizeBytes)) segmentSize = opened.sizeBytes;
      socket.end(Buffer.from([0]));
    } catch (err) {
      if (isBantayError(err) && err.code === ErrorCode.NotFound) {
        socket.end('NOTFOUND\n');
        return;
      }
      options.onError?.(name, err);
      const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').slice(0, 300);
      // Mid-file: the client has no trailer and refuses the file; before it, it reads the reason.
      if (socket.bytesWritten > 0) socket.destroy();
      else socket.end(`ERROR ${message}\n`);
    }
  };
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  // The directory (0700, the server's user) is the guard; the socket itself must be connectable by that user.
  await chmod(socketPath, 0o666);
  return {
    socketPath,
    served,
    prefetched,
    close: async () => {
      stopAhead.abort();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...ahead.values()].map((a) => a.done));
      ahead.clear();
      await rm(socketPath, { force: true });
      if (options.prefetchDir !== undefined) await rm(options.prefetchDir, { recursive: true, force: true });
    },
  };
}

/** initdb accepts powers of two from 1 MiB to 1 GiB. */
function isSegmentSize(bytes: number): boolean {
  return bytes >= 1 << 20 && bytes <= 1 << 30 && (bytes & (bytes - 1)) === 0;
}
