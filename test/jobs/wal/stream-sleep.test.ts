import { getEventListeners } from 'node:events';
import { expect, it } from 'vitest';
import { sleep } from '../../../src/jobs/wal/wal-streamer.ts';

it('the streamer sleeps between polls without leaving an abort listener per wait', async () => {
  const controller = new AbortController();
  for (let i = 0; i < 20; i += 1) await sleep(1, controller.signal);
  expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  const waiting = sleep(60_000, controller.signal);
  controller.abort();
  await waiting;
});
