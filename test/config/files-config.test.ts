import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';

const load = (env: Record<string, string>) => loadConfig({ env, cwd: '/srv/bantay', dotenv: false });

describe('files configuration', () => {
  it('has defaults: the four usual excludes, weekly chains, Manila time', () => {
    expect(load({}).files).toEqual({
      appDir: undefined,
      uploadsDir: undefined,
      appExclude: ['node_modules', 'dist', 'logs', 'temp'],
      uploadsChainDays: 7,
      timeZone: 'Asia/Manila',
      uploadsStrict: false,
    });
  });

  it('resolves directories against the working directory and splits the exclude globs', () => {
    const files = load({ APP_DIR: 'app', UPLOADS_DIR: '/data/uploads', BANTAY_APP_EXCLUDE: ' node_modules , *.log,, /public/cache ', BANTAY_UPLOADS_CHAIN_DAYS: '14', BANTAY_TZ: 'UTC' }).files;
    expect(files).toEqual({ appDir: '/srv/bantay/app', uploadsDir: '/data/uploads', appExclude: ['node_modules', '*.log', '/public/cache'], uploadsChainDays: 14, timeZone: 'UTC', uploadsStrict: false });
  });

  it('names every bad variable', () => {
    expect(() => load({ BANTAY_TZ: 'Mars/Olympus', BANTAY_UPLOADS_CHAIN_DAYS: '0', BANTAY_APP_EXCLUDE: 'a,../etc' })).toThrow(
      expect.objectContaining({
        details: expect.arrayContaining([
          'BANTAY_TZ: must be an IANA time zone such as Asia/Manila',
          'BANTAY_UPLOADS_CHAIN_DAYS: must be a whole number from 1 to 366',
          'BANTAY_APP_EXCLUDE: must be comma-separated globs relative to APP_DIR, without ".." segments',
        ]),
      }),
    );
  });
});
