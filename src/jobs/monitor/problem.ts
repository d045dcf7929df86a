/** The one thing every monitoring check returns; its own file so checks and their parts import it without a cycle. */
export interface Problem {
  /** Stable identity ("stale:database"); alert state is kept per key. */
  key: string;
  severity: 'warning' | 'critical';
  title: string;
  text: string;
  /** What to do, for the person on call. */
  remedy: string;
  /** Changes when the problem changes (another missed run, another bad backup): re-alerts. */
  fingerprint: string;
}
