import { describe, expect, it } from 'vitest';
import { walProblems, type WalMonitorFacts } from '../../../src/jobs/monitor/wal-checks.ts';
import type { WalStatus } from '../../../src/jobs/wal/wal-status.ts';

const MB16 = 16 * 1024 * 1024;
const status = (over: Partial<WalStatus>): WalStatus => ({
  systemIdentifier: '1', lastArchived: { name: '000000010000000000000005', at: '2026-11-26T00:00:00Z' }, lagSeconds: 10, lagBytes: 0,
  slot: { name: 'bantay', active: true, walStatus: 'reserved', safeWalSize: null, retainedBytes: 1000 }, serverLsn: '0/6000100',
  stream: null, window: null, replicationUnavailable: null, ...over,
});
const facts = (s: WalStatus): WalMonitorFacts => ({ rpoObjectiveSeconds: 3600, slotWarnBytes: 4 * 1024 ** 3, stallSeconds: 120, segmentSize: MB16, status: s });
const keys = (f: WalMonitorFacts | undefined) => walProblems(f).map((p) => `${p.key}:${p.severity}`).sort();

describe('walProblems', () => {
  it.each([
    { name: 'WAL archiving off: no checks', f: undefined, want: [] },
    { name: 'healthy: archived 10 s ago, server in the next segment', f: facts(status({})), want: [] },
    { name: 'lag over the RPO objective', f: facts(status({ lagSeconds: 3700, serverLsn: '0/6000000' })), want: ['wal-lag:critical'] },
    { name: 'nothing archived at all while the server writes', f: facts(status({ lastArchived: null, lagSeconds: null })), want: ['wal-lag:critical', 'wal-stopped:critical'] },
    { name: 'stopped: no progress for 10 min while the server wrote 3 segments', f: facts(status({ lagSeconds: 600, serverLsn: '0/8000100' })), want: ['wal-stopped:critical'] },
    { name: 'idle server: old archive but no WAL written past it', f: facts(status({ lagSeconds: 600, serverLsn: '0/6000028' })), want: [] },
    { name: 'partial: the server still in the archived partial segment', f: facts(status({ lastArchived: { name: '000000010000000000000006.partial', at: 'x' }, lagSeconds: 600, serverLsn: '0/6FF0000' })), want: [] },
    { name: 'partial: the server moved to a later segment', f: facts(status({ lastArchived: { name: '000000010000000000000006.partial', at: 'x' }, lagSeconds: 600, serverLsn: '0/7000100' })), want: ['wal-stopped:critical'] },
    { name: 'slot retains more than the warning size', f: facts(status({ slot: { name: 'bantay', active: false, walStatus: 'extended', safeWalSize: null, retainedBytes: 5 * 1024 ** 3 } })), want: ['wal-slot:warning'] },
    { name: 'slot unreserved', f: facts(status({ slot: { name: 'bantay', active: true, walStatus: 'unreserved', safeWalSize: 0, retainedBytes: 10 } })), want: ['wal-slot:critical'] },
    { name: 'slot lost', f: facts(status({ slot: { name: 'bantay', active: false, walStatus: 'lost', safeWalSize: null, retainedBytes: null } })), want: ['wal-slot:critical'] },
    { name: 'status unreadable', f: { rpoObjectiveSeconds: 3600, slotWarnBytes: 1, stallSeconds: 120, segmentSize: MB16, error: 'the backup store could not be reached' }, want: ['wal-unchecked:warning'] },
  ])('$name', ({ f, want }) => {
    expect(keys(f)).toEqual(want);
  });

  it('a lost slot says recovery cannot cross the gap', () => {
    const [p] = walProblems(facts(status({ slot: { name: 'bantay', active: false, walStatus: 'lost', safeWalSize: null, retainedBytes: null } })));
    expect(p!.remedy).toMatch(/base backup now/);
    expect(p!.fingerprint).toBe('lost');
  });
});
