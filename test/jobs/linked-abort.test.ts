import { getEventListeners } from 'node:events';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { putSealed } from '../../src/jobs/files/sealed-object.ts';
import { linkedAbort } from '../../src/jobs/job-context.ts';
import { makeDeps } from '../support/job-deps.ts';

describe('linkedAbort', () => {
  it('aborts with its parent, and unlinks when it aborts itself or is released', () => {
    const parent = new AbortController();
    const a = linkedAbort(parent.signal);
    const b = linkedAbort(parent.signal);
    const c = linkedAbort(parent.signal);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(3);
    b.abort();
    c.release();
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
    parent.abort(new Error('stop'));
    expect(a.signal.aborted && (a.signal.reason as Error).message === 'stop').toBe(true);
    expect(c.signal.aborted).toBe(false);
  });

  it('leaves no listener on a long-lived signal after each upload (the WAL stream uploads thousands under one)', async () => {
    const { deps, close } = await makeDeps();
    try {
      const lifetime = new AbortController();
      for (let i = 0; i < 15; i += 1) await putSealed(Readable.from([Buffer.from(`segment ${i}`)]), [], `wal/t/${i}`, deps, { signal: lifetime.signal });
      expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0);
    } finally {
      await close();
    }
  });
});
