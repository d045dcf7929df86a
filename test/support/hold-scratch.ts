/**
 * Child process for test/jobs/scratch-database.test.ts: creates a scratch database (recorded in
 * the state database at STATE_URL), prints "SCRATCH=<name>" and waits forever, with no signal
 * handlers of its own, so the test can check what SIGTERM/SIGINT/SIGKILL do to it.
 * Usage: node --import tsx hold-scratch.ts ADMIN_URL STATE_URL
 */
import { openAdminSession } from '../../src/jobs/pg/database-admin.ts';
import { createScratchDatabase } from '../../src/jobs/pg/scratch-database.ts';
import { openStateDb } from '../../src/state/state-db.ts';

const adminUrl = process.argv[2]!;
const state = await openStateDb({ url: process.argv[3]!, dataDir: '/nonexistent' });
const session = await openAdminSession(adminUrl, new URL(adminUrl).pathname.slice(1));
const scratch = await createScratchDatabase(session, state, { purpose: 'verify', tag: 'signal-test' });
process.stdout.write(`SCRATCH=${scratch.name}\n`);
setInterval(() => undefined, 60_000);
