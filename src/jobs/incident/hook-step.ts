import { BantayError, ErrorCode } from '../../errors.ts';
import { recordAudit } from '../../state/audit-log.ts';
import type { JobDeps, Trigger } from '../job-context.ts';
import { runHook, type HookResult } from '../run-hook.ts';

/**
 * The "stop / start the application" steps: the same configured hooks an in-place restore
 * runs (BANTAY_APP_STOP_CMD / BANTAY_APP_START_CMD), audited as operation "hook". Unset is
 * refused naming the variable: Bantay never guesses how FBMS is stopped.
 */
export interface AppHookSpec {
  hook: 'stop' | 'start';
  command: string | undefined;
  timeoutSeconds: number;
  trigger: Trigger;
  signal?: AbortSignal;
}

export async function runAppHookStep(deps: Pick<JobDeps, 'state'>, spec: AppHookSpec): Promise<HookResult> {
  const variable = spec.hook === 'stop' ? 'BANTAY_APP_STOP_CMD' : 'BANTAY_APP_START_CMD';
  if (spec.command === undefined) {
    throw new BantayError(ErrorCode.ConfigInvalid, `No application ${spec.hook} command is configured`, { details: [`${variable}: set it to the command that ${spec.hook}s the application (run without a shell), or do this step by hand and mark it done`] });
  }
  const started = Date.now();
  try {
    const result = await runHook(`application ${spec.hook}`, spec.command, { timeoutSeconds: spec.timeoutSeconds, signal: spec.signal });
    await recordAudit(deps.state, { operationType: 'hook', backupType: spec.hook, status: 'succeeded', performedBy: spec.trigger.by, durationSeconds: result.seconds, details: { via: spec.trigger.via } });
    return result;
  } catch (err) {
    await recordAudit(deps.state, { operationType: 'hook', backupType: spec.hook, status: 'failed', performedBy: spec.trigger.by, durationSeconds: (Date.now() - started) / 1000, errorMessage: (err as Error).message, details: { via: spec.trigger.via } }).catch(() => undefined);
    throw err;
  }
}
