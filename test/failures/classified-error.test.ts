import { describe, expect, it } from 'vitest';
import { BantayError, ErrorCode } from '../../src/errors.ts';
import { classifiedError, classifyFailure, followUpStepError } from '../../src/failure.ts';

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

/** How a job's error reads once classified, including errors of jobs it ran itself. */
describe('classifiedError', () => {
  it('names a nested job\'s failure once: one summary, one remedy', () => {
    const inner = classifiedError('Backup', new BantayError(ErrorCode.Storage, 'put x', { cause: enospc() }));
    const outer = classifiedError('Point-in-time restore', inner);
    expect(outer.message).toBe('Point-in-time restore failed: Backup failed: no space left where the backup is written (store full): put x');
    expect(outer.details.filter((d) => /Free space on the store/.test(d))).toHaveLength(1);
    expect(classifyFailure(outer).cause).toBe('store-full');
  });

  it('leaves a restore whose follow-up step failed saying that it restored, never "Restore failed"', () => {
    const err = classifiedError('Restore', followUpStepError('Backup db-1 is restored in place as fbms (the previous database is kept as fbms_old), but start-app failed: exit 1', { details: ['Start the application by hand.'] }));
    expect(err.message).toBe('Backup db-1 is restored in place as fbms (the previous database is kept as fbms_old), but start-app failed: exit 1');
    expect(err.details).toEqual(['Start the application by hand.']);
    expect(classifyFailure(err)).toMatchObject({ outcome: 'failed', cause: 'follow-up-step' });
  });

  it('keeps a refusal\'s own sentence and a cancellation\'s details', () => {
    expect(classifiedError('Restore', new BantayError(ErrorCode.InvalidInput, 'Database x already exists; choose another name')).message).toBe('Database x already exists; choose another name');
    const cancelled = classifiedError('Restore', new BantayError(ErrorCode.Aborted, 'aborted', { details: ['The live database fbms was not changed.'] }));
    expect(cancelled).toMatchObject({ message: 'Restore cancelled', details: ['The live database fbms was not changed.'] });
  });

  it('a person\'s cancel wins over what an inner job already named', () => {
    const inner = classifiedError('Backup', new BantayError(ErrorCode.Tool, 'pg_dump exited with status 1'));
    expect(classifyFailure(inner).outcome).toBe('failed');
    expect(classifyFailure(inner, { cancelled: true }).outcome).toBe('cancelled');
    expect(classifiedError('Restore', inner, { cancelled: true }).message).toBe('Restore cancelled');
  });
});
