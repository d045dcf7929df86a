#!/usr/bin/env node
// restore_command of the recovery server that `bantay restore --time/--latest` starts:
//   bantay-wal-fetch.mjs SOCKET %f %p
// It asks the restore job that started the server (over a Unix socket in the job's private
// 0700 directory) for one WAL file and writes it to %p complete or not at all. The job holds
// the store credentials and the encryption key; this process and the server never see them.
// Plain JavaScript without dependencies: PostgreSQL runs it once per segment, so it must start
// fast. Exit codes as `bantay wal fetch`: 0 written, 1 not in the archive, 126 anything else
// (PostgreSQL aborts recovery above 125 rather than ending it early at the wrong point).
import { createConnection } from 'node:net';
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

const [socketPath, name, destination] = process.argv.slice(2);
if (!socketPath || !name || !destination) {
  process.stderr.write('usage: bantay-wal-fetch.mjs SOCKET NAME DESTINATION\n');
  process.exit(126);
}
const temp = `${destination}.bantay-part`;
let fd;
let header = Buffer.alloc(0);
let expected = -1;
let written = 0;
// After the file's bytes the job sends one byte: 0 once every digest and tag verified.
let trailer = -1;

function fail(code, message) {
  if (fd !== undefined) closeSync(fd);
  rmSync(temp, { force: true });
  if (message) process.stderr.write(`bantay-wal-fetch: ${message}\n`);
  process.exit(code);
}

const socket = createConnection(socketPath, () => socket.write(`${JSON.stringify({ name })}\n`));
socket.on('error', (err) => fail(126, `cannot reach the restore job: ${err.message}`));
socket.on('data', (chunk) => {
  if (expected < 0) {
    header = Buffer.concat([header, chunk]);
    const newline = header.indexOf(10);
    if (newline < 0) return;
    const line = header.subarray(0, newline).toString('utf8');
    const rest = header.subarray(newline + 1);
    if (line === 'NOTFOUND') fail(1);
    if (!line.startsWith('OK ')) fail(126, line.replace(/^ERROR /, ''));
    expected = Number(line.slice(3));
    fd = openSync(temp, 'w', 0o600);
    chunk = rest;
  }
  const body = chunk.subarray(0, Math.max(0, expected - written));
  if (body.length > 0) {
    writeSync(fd, body);
    written += body.length;
  }
  if (chunk.length > body.length) trailer = chunk[body.length];
});
socket.on('end', () => {
  if (expected < 0 || written !== expected || trailer !== 0) fail(126, `${name} was not delivered complete and verified (${written} of ${expected} bytes)`);
  // No fsync: the file feeds a scratch recovery that a crash ends anyway, PostgreSQL replays it
  // at once, and the recovered state is made durable by its own end-of-recovery checkpoint.
  closeSync(fd);
  renameSync(temp, destination);
  process.exit(0);
});
