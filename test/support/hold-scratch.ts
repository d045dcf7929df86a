/**
 * Child process for test/jobs/scratch-database.test.ts: creates a scratch database, prints
 * "SCRATCH=<name>" and waits forever, with no signal handlers of its own, so the test can check
 * what SIGTERM/SIGINT do to it. Usage: node --import tsx hold-scratch.ts ADMIN_URL
 */
import { openAdminSession } from '../../src/jobs/pg/database-admin.ts';
import { createScratchDatabase } from '../../src/jobs/pg/scratch-database.ts';

const adminUrl = process.argv[2]!;
const session = await openAdminSession(adminUrl, new URL(adminUrl).pathname.slice(1));
const scratch = await createScratchDatabase(session, { purpose: 'verify', tag: 'signal-test' });
process.stdout.write(`SCRATCH=${scratch.name}\n`);
setInterval(() => undefined, 60_000);
