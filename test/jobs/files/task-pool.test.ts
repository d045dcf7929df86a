import { describe, expect, it } from 'vitest';
import { TaskPool } from '../../../src/jobs/files/task-pool.ts';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('TaskPool', () => {
  it('never runs more than its concurrency, nor holds more than its budget (one oversized task runs alone)', async () => {
    const pool = new TaskPool({ concurrency: 3, budgetBytes: 100 });
    let running = 0;
    let held = 0;
    let maxRunning = 0;
    let maxHeld = 0;
    for (const bytes of [10, 10, 10, 10, 60, 60, 250, 10, 10]) {
      await pool.room(bytes);
      pool.start(bytes, async () => {
        running += 1;
        held += bytes;
        maxRunning = Math.max(maxRunning, running);
        if (bytes <= 100) maxHeld = Math.max(maxHeld, held);
        else expect(running).toBe(1);
        await tick();
        running -= 1;
        held -= bytes;
      });
    }
    await pool.drain();
    expect(maxRunning).toBe(3);
    expect(maxHeld).toBeLessThanOrEqual(100);
  });

  it('reports the first failure at the next room() and drain(), and settle() waits for every started task', async () => {
    const pool = new TaskPool({ concurrency: 2, budgetBytes: 1000 });
    const finished: string[] = [];
    pool.start(1, async () => {
      await tick();
      throw new Error('first');
    });
    pool.start(1, async () => {
      await tick();
      await tick();
      finished.push('slow');
    });
    await expect(pool.room(1)).rejects.toThrow('first');
    await expect(pool.drain()).rejects.toThrow('first');
    await pool.settle();
    expect(finished).toEqual(['slow']);
  });
});
