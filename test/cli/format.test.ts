import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration } from '../../src/cli/format.ts';

describe('formatDuration', () => {
  it.each([
    [0.25, '0.3s'],
    [12, '12s'],
    [59.7, '1m00s'],
    [90, '1m30s'],
    [119.6, '2m00s'],
    [3599.7, '1h00m'],
    [3 * 3600 + 125, '3h02m'],
  ])('%s seconds reads %s (never "60s" in a minute or "60m" in an hour)', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe('formatBytes', () => {
  it.each([
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [5 * 1024 * 1024 * 1024, '5.0 GiB'],
  ])('%s bytes reads %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
