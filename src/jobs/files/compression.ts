import { extname } from 'node:path';

/**
 * Per-file compression decision (docs/files-format.md). Formats that are already compressed
 * (images, PDFs, archives, media, OOXML/ODF documents, web fonts) are stored as they are:
 * gzip would burn CPU for nothing. Everything else is gzip-compressed individually, and kept
 * compressed only when that saves at least MIN_SAVING of the size.
 */
const PRECOMPRESSED = new Set(
  [
    // images
    'jpg', 'jpeg', 'jpe', 'jfif', 'png', 'apng', 'gif', 'webp', 'heic', 'heif', 'avif', 'jxl', 'jp2',
    // documents with compressed containers
    'pdf', 'docx', 'xlsx', 'pptx', 'docm', 'xlsm', 'odt', 'ods', 'odp', 'odg', 'epub', 'xps',
    // archives and compressed streams
    'zip', 'gz', 'tgz', 'bz2', 'tbz2', 'xz', 'txz', 'zst', 'lz4', 'lz', 'lzma', '7z', 'rar', 'br', 'cab', 'jar', 'war', 'apk', 'whl', 'svgz', 'dmg',
    // audio and video
    'mp4', 'm4v', 'mov', 'avi', 'mkv', 'webm', 'wmv', 'flv', '3gp', 'mp3', 'm4a', 'aac', 'ogg', 'oga', 'opus', 'flac', 'wma',
    // fonts
    'woff', 'woff2',
  ],
);

/** Below this many bytes gzip's own overhead eats the gain. */
export const MIN_COMPRESS_BYTES = 256;
/** A compressed copy is kept only when it is at most this fraction of the original. */
export const MAX_COMPRESSED_RATIO = 0.9;
/**
 * gzip level 1, zlib's fastest. Measured on receipt CSV exports (bench/support/uploads-tree.ts):
 * level 1 compresses 3.6x at about 135 MB/s per core, level 6 (zlib's default) 4.4x at 38 MB/s.
 * Text is a minority of an uploads tree, so the 20% larger text costs little space, while
 * level 6 made gzip the whole backup's critical path. Decompression speed is the same.
 */
export const GZIP_LEVEL = 1;

export function isPrecompressed(path: string): boolean {
  return PRECOMPRESSED.has(extname(path).slice(1).toLowerCase());
}

/** Whether a file of this name and size is worth trying to compress. */
export function shouldTryCompression(path: string, size: number): boolean {
  return size >= MIN_COMPRESS_BYTES && !isPrecompressed(path);
}

export function compressionPays(originalSize: number, compressedSize: number): boolean {
  return compressedSize <= originalSize * MAX_COMPRESSED_RATIO;
}
