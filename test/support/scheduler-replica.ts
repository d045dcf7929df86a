/**
 * A Bantay replica in its own process for the schedule tests: runs the real scheduler against
 * the state database in STATE_URL with one job, "monitor", on CRON, whose run prints
 * "STARTED <fire ISO>" and then never finishes. The test kills this process with SIGKILL (no
 * release, no goodbye) to prove that another replica takes over once the lease expires.
 * Exits when its parent closes stdin.
 */
import { createLogger } from '../../src/log/logger.ts';
import { startScheduler } from '../../src/schedule/scheduler.ts';
import { DEFAULT_SCHEDULE, type ScheduleConfig } from '../../src/schedule/schedule-config.ts';
import { openStateDb } from '../../src/state/state-db.ts';

const state = await openStateDb({ url: process.env.STATE_URL, dataDir: '/nonexistent' });
const schedule = Object.fromEntries(Object.keys(DEFAULT_SCHEDULE).map((job) => [job, null])) as ScheduleConfig;
schedule.monitor = process.env.CRON ?? '* * * * * *';
startScheduler({
  schedule,
  timezone: 'Asia/Manila',
  state,
  logger: createLogger({ level: 'silent' }),
  owner: 'child',
  leaseMs: Number(process.env.LEASE_MS ?? 1500),
  heartbeatMs: Number(process.env.HEARTBEAT_MS ?? 300),
  jobs: {
    monitor: async ({ fireAt }) => {
      process.stdout.write(`STARTED ${fireAt.toISOString()}\n`);
      await new Promise(() => undefined);
    },
  },
});
process.stdout.write('READY\n');
process.stdin.on('end', () => process.exit(0)).resume();
