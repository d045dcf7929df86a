import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Deterministic uploads trees for the files benchmark. Two shapes:
 *
 * - `mixed`: the tree of issues 13 and 16 (5,000 files / 428 MB): two thirds JPEG-like
 *   incompressible files, one third text (CSV/TXT receipts exports).
 * - `photos`: the 2 GB / 20,000-file tree the bench always built: mostly photos and PDFs
 *   (92% incompressible by bytes), a few CSV/TXT files.
 *
 * Text is CSV rows with varying dates, amounts and names (gzip gets about 4x, like real exports),
 * not one repeated line (which compresses 100x and would flatter every compressor).
 */
export type TreeShape = 'mixed' | 'photos';

interface Kind {
  ext: string;
  share: number;
  text: boolean;
}

const SHAPES: Record<TreeShape, Kind[]> = {
  mixed: [
    { ext: 'jpg', share: 2 / 3, text: false },
    { ext: 'csv', share: 1 / 6, text: true },
    { ext: 'txt', share: 1 / 6, text: true },
  ],
  photos: [
    { ext: 'jpg', share: 0.86, text: false },
    { ext: 'png', share: 0.04, text: false },
    { ext: 'pdf', share: 0.06, text: false },
    { ext: 'csv', share: 0.02, text: true },
    { ext: 'txt', share: 0.02, text: true },
  ],
};

export interface TreeSpec {
  shape: TreeShape;
  files: number;
  bytes: number;
}

export interface FileSpec {
  path: string;
  size: number;
  text: boolean;
}

/** Deterministic per-file choices from the file number. */
export function fileSpec(spec: TreeSpec, i: number): FileSpec {
  const average = spec.bytes / spec.files;
  const u = ((i * 2654435761) % 4294967296) / 4294967296;
  const v = ((i * 40503 + 12345) % 65536) / 65536;
  const kinds = SHAPES[spec.shape];
  let acc = 0;
  const kind = kinds.find((k) => (acc += k.share) > v) ?? kinds[0]!;
  const month = (i % 24) + 1;
  const dir = `receipts/${2025 + Math.floor((month - 1) / 12)}/${String(((month - 1) % 12) + 1).padStart(2, '0')}/branch-${i % 7}`;
  return { path: `${dir}/resibo ${String(i).padStart(6, '0')}.${kind.ext}`, size: Math.max(1024, Math.round(average * (0.2 + 1.6 * u))), text: kind.text };
}

const NAMES = ['Dela Cruz, Juan', 'Santos, Maria', 'Reyes, Jose', 'Bautista, Ana', 'Garcia, Pedro', 'Mendoza, Liza', 'Torres, Ramon', 'Villanueva, Grace'];
const METHODS = ['gcash', 'cash', 'maya', 'bank transfer', 'card'];
const TEXT_BLOCK_BYTES = 4 * 1024 * 1024;
let textBlock: Buffer | undefined;

/** 4 MiB of CSV rows from a fixed pseudo-random sequence (built once). */
function csvBlock(): Buffer {
  if (textBlock !== undefined) return textBlock;
  let seed = 12345;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), Math.floor(seed / 65536) % n);
  const rows: string[] = ['petsa,halaga,nagbayad,paraan,resibo\n'];
  let length = rows[0]!.length;
  while (length < TEXT_BLOCK_BYTES) {
    const row = `2026-${String(next(12) + 1).padStart(2, '0')}-${String(next(28) + 1).padStart(2, '0')},${next(50000)}.${String(next(100)).padStart(2, '0')},"${NAMES[next(NAMES.length)]}",${METHODS[next(METHODS.length)]},OR-${next(1_000_000)}\n`;
    rows.push(row);
    length += row.length;
  }
  textBlock = Buffer.from(rows.join('')).subarray(0, TEXT_BLOCK_BYTES);
  return textBlock;
}

function writeContent(path: string, size: number, text: boolean, scratch: Buffer, salt: number): void {
  let data: Buffer;
  if (text) {
    const block = csvBlock();
    const start = (salt * 7919) % Math.max(1, block.length - size);
    data = scratch.subarray(0, size);
    for (let at = 0; at < size; ) at += block.copy(data, at, at === 0 ? start : 0, Math.min(block.length, (at === 0 ? start : 0) + size - at));
    randomFillSync(data, 0, Math.min(size, 16)); // a little noise so files differ
  } else {
    data = scratch.subarray(0, size);
    randomFillSync(data);
  }
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

function scratchFor(spec: TreeSpec): Buffer {
  return Buffer.allocUnsafe(Math.ceil((spec.bytes / spec.files) * 2) + 1024);
}

/** Writes the whole tree under `root`, every mtime 30 days ago. */
export function buildTree(root: string, spec: TreeSpec): { files: number; bytes: number; incompressibleBytes: number } {
  const scratch = scratchFor(spec);
  const old = Date.now() / 1000 - 30 * 86_400;
  let bytes = 0;
  let incompressibleBytes = 0;
  const dirs = new Set<string>();
  for (let i = 0; i < spec.files; i += 1) {
    const f = fileSpec(spec, i);
    const path = join(root, f.path);
    const dir = path.slice(0, path.lastIndexOf('/'));
    if (!dirs.has(dir)) mkdirSync(dir, { recursive: true });
    dirs.add(dir);
    writeContent(path, f.size, f.text, scratch, i);
    utimesSync(path, old, old);
    bytes += f.size;
    if (!f.text) incompressibleBytes += f.size;
  }
  return { files: spec.files, bytes, incompressibleBytes };
}

/**
 * The day's changes before incremental number `round` (1, 2, ...): rewrites `percent`% of the
 * files with new content (same kind, 90% of the size), a different set each round.
 */
export function changeFiles(root: string, spec: TreeSpec, percent: number, round: number): { files: number; bytes: number } {
  const scratch = scratchFor(spec);
  const every = Math.max(1, Math.round(100 / percent));
  const recent = Date.now() / 1000 - 3600 + round;
  let files = 0;
  let bytes = 0;
  for (let i = round % every; i < spec.files; i += every) {
    const f = fileSpec(spec, i);
    const size = Math.max(1024, Math.round(f.size * (0.9 - 0.01 * round)));
    writeContent(join(root, f.path), size, f.text, scratch, i + 100_003 * round);
    utimesSync(join(root, f.path), recent, recent);
    files += 1;
    bytes += size;
  }
  return { files, bytes };
}
