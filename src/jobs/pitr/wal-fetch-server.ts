import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ErrorCode, isBantayError } from '../../errors.ts';
import type { ArchiveIdentity } from '../wal/archive-layout.ts';
import { openWalFile } from '../wal/fetch-wal.ts';
import type { WalDeps } from '../wal/push-wal.ts';

/** The restore_command client (plain JavaScript, no dependencies, starts in milliseconds). */
export const FETCH_CLIENT = fileURLToPath(new URL('../../../bin/bantay-wal-fetch.mjs', import.meta.url));

export interface WalFetchServer {
  socketPath: string;
  /** Files served so far, in order (for the report and the tests). */
  served: string[];
  close(): Promise<void>;
}

/**
 * Serves WAL files from the archive to the recovery server's restore_command over a Unix
 * socket inside the restore's private directory. This keeps every secret (store credentials,
 * the encryption key) in this process: the server's environment, argv and configuration hold
 * only a socket path. Protocol: the client sends {"name"}\n; the reply is "OK <size>\n", the
 * bytes, then one byte 0 once every check passed (the client renames only then), or
 * "NOTFOUND\n", or "ERROR <message>\n".
 */
export async function startWalFetchServer(socketPath: string, deps: WalDeps, identity: ArchiveIdentity, options: { signal?: AbortSignal; onError?: (name: string, err: unknown) => void } = {}): Promise<WalFetchServer> {
  const served: string[] = [];
  const sockets = new Set<Socket>();
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
      const opened = await openWalFile(name, deps, { identity, signal: options.signal });
      socket.write(`OK ${opened.record.sizeBytes}\n`);
      for await (const chunk of opened.stream) {
        if (!socket.write(chunk as Buffer)) await new Promise((resolve) => socket.once('drain', resolve));
      }
      served.push(opened.record.name);
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
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(socketPath, { force: true });
    },
  };
}
