import { createReadStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { Header } from 'tar';

/**
 * A tar stream written one finished file at a time: the parallel dump's archive. Plain ustar
 * entries (GNU base-256 sizes past 8 GiB, which GNU tar and bsdtar read), one per file, in the
 * order files were finished, so `tar -xf` followed by `pg_restore -j N DIR` restores it with
 * nothing but standard tools. Each file is deleted once it is in the stream: the plaintext on
 * disk never exceeds the files pg_dump is still writing plus the one being read.
 */
export async function* tarFiles(files: AsyncIterable<string>, signal?: AbortSignal): AsyncGenerator<Buffer> {
  for await (const path of files) {
    signal?.throwIfAborted();
    const info = await stat(path);
    const header = new Header({ path: basename(path), mode: 0o600, size: info.size, mtime: info.mtime, type: 'File', uid: 0, gid: 0, uname: '', gname: '' });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    yield block;
    let read = 0;
    for await (const chunk of createReadStream(path, { signal })) {
      read += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    if (read !== info.size) throw new Error(`${basename(path)} changed size while it was archived (${info.size} -> ${read} bytes)`);
    const pad = (512 - (read % 512)) % 512;
    if (pad > 0) yield Buffer.alloc(pad);
    await unlink(path);
  }
  yield Buffer.alloc(1024); // End of archive: two zero blocks.
}
