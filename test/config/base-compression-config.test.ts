import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { basebackupCompressArg } from '../../src/jobs/base-backup/base-compression.ts';

const load = (env: Record<string, string>) => loadConfig({ env, cwd: '/tmp', dotenv: false });

describe('BANTAY_BASE_COMPRESSION', () => {
  it('defaults to the server compressing with zstd level 1', () => {
    const c = load({}).wal.baseCompression;
    expect(c).toEqual({ method: 'zstd', level: 1, workers: 0 });
    expect(basebackupCompressArg(c)).toBe('--compress=server-zstd:level=1');
  });

  it('reads zstd levels and workers, gzip levels and none', () => {
    const arg = (value: string) => basebackupCompressArg(load({ BANTAY_BASE_COMPRESSION: value }).wal.baseCompression);
    expect(arg('zstd:3,workers=2')).toBe('--compress=server-zstd:level=3,workers=2');
    expect(arg('ZSTD')).toBe('--compress=server-zstd:level=1');
    expect(arg('gzip:6')).toBe('--compress=server-gzip:6');
    expect(arg('gzip')).toBe('--compress=server-gzip:1');
    expect(arg('none')).toBe('--compress=none');
  });

  it('names the variable to fix, and the one it replaced', () => {
    for (const value of ['zstd:0', 'zstd:23', 'gzip:0', 'lz4', 'zstd:1,workers=99', 'zstd;rm -rf']) {
      expect(() => load({ BANTAY_BASE_COMPRESSION: value }), value).toThrow(
        expect.objectContaining({ details: [expect.stringMatching(/^BANTAY_BASE_COMPRESSION: must be zstd/)] }),
      );
    }
    expect(() => load({ BANTAY_BASE_COMPRESS_LEVEL: '6' })).toThrow(
      expect.objectContaining({ details: [expect.stringMatching(/^BANTAY_BASE_COMPRESS_LEVEL: is replaced by BANTAY_BASE_COMPRESSION/)] }),
    );
  });
});
