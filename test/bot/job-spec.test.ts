import { describe, expect, it } from 'vitest';
import { describeJob, parseJobSpec, resourcesOf } from '../../src/bot/job-spec.ts';

/** Specs travel through modals, approval rows and buttons: what comes back is checked again. */
describe('parseJobSpec', () => {
  it('takes a point-in-time recovery into a new database, and nothing that is not one', () => {
    const spec = parseJobSpec({ type: 'pitr-restore', time: '2026-12-03T06:29:59.000Z', target: { mode: 'in-place', name: 'fbms_at' }, reason: 'incident' });
    // Whatever the payload says, it is into a new database: in place is not a mode this job has.
    expect(spec).toEqual({ type: 'pitr-restore', time: '2026-12-03T06:29:59.000Z', target: { mode: 'new', name: 'fbms_at' }, reason: 'incident' });
    expect(resourcesOf(spec)).toEqual(['database']);
    expect(describeJob(spec)).toBe('Point-in-time recovery to 2026-12-03 06:29:59 UTC into fbms_at');
    for (const time of ['yesterday', '2026-12-03 06:29:59', '2026-13-40T99:00:00Z', "2026-12-03T06:29:59Z'; DROP"]) {
      expect(() => parseJobSpec({ type: 'pitr-restore', time, target: { mode: 'new', name: 'x' }, reason: '' })).toThrow();
    }
    expect(() => parseJobSpec({ type: 'pitr-restore', time: '2026-12-03T06:29:59Z', target: { mode: 'new', name: 'bad"name' }, reason: '' })).toThrow();
  });

  it('keeps "from the secondary location" on a restore and drops any other from', () => {
    const base = { type: 'restore', backup: 'db-20261203T020000Z-7f3a', target: { mode: 'new', name: 'fbms_dc' }, reason: 'outage' };
    expect(parseJobSpec({ ...base, from: 'secondary' })).toMatchObject({ from: 'secondary' });
    expect(parseJobSpec({ ...base, from: 'https://evil.example' })).not.toHaveProperty('from');
    expect(describeJob(parseJobSpec({ ...base, from: 'secondary' }))).toBe('Restore of db-20261203T020000Z-7f3a from the secondary location into fbms_dc');
  });

  it('checks an existing database only with a valid name and a named backup', () => {
    const base = { type: 'verify', backup: 'db-20261203T020000Z-7f3a' };
    const check = parseJobSpec({ ...base, restored: { mode: 'new', name: 'fbms_dc' }, from: 'secondary' });
    expect(check).toEqual({ ...base, restored: { mode: 'new', name: 'fbms_dc' }, from: 'secondary' });
    expect(resourcesOf(check)).toEqual(['scratch restores']);
    expect(describeJob(check)).toBe('Check of fbms_dc against db-20261203T020000Z-7f3a');
    const live = parseJobSpec({ ...base, restored: { mode: 'in-place', name: 'ignored' } });
    expect(live).toEqual({ ...base, restored: { mode: 'in-place' } });
    // The live database is swapped by in-place restores: never checked while one runs.
    expect(resourcesOf(live)).toEqual(['database']);
    expect(() => parseJobSpec({ ...base, restored: { mode: 'new', name: 'x"; DROP DATABASE fbms; --' } })).toThrow();
    expect(() => parseJobSpec({ ...base, restored: 'fbms' })).toThrow();
    expect(() => parseJobSpec({ type: 'verify', backup: 'latest', restored: { mode: 'new', name: 'fbms_dc' } })).toThrow();
    expect(parseJobSpec({ ...base, from: '../other' })).toEqual(base);
  });
});
