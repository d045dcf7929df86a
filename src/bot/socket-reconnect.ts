import type { SocketModeReceiver } from '@slack/bolt';
import type { Logger } from '../log/logger.ts';
import { slackErrorOf } from './slack-api.ts';

/** The part of @slack/socket-mode's client that schedules a reconnect (not public API). */
interface ReconnectingClient {
  shuttingDown: boolean;
  numOfConsecutiveReconnectionFailures: number;
  delayReconnectAttempt(cb: () => Promise<unknown>): Promise<unknown>;
}

/** Attempts after which the wait between two of them stops growing (5 s × 12 = one minute). */
const MAX_COUNTED_FAILURES = 12;

/**
 * Makes a dropped Socket Mode connection come back, whatever Slack answers meanwhile.
 *
 * @slack/socket-mode (3.1) reconnects by calling `start()` from a timer and keeps only its
 * success (`cb.apply(this).then(res)`): when that attempt fails, its rejection has no handler and
 * Node ends the process. It fails when Slack refuses the app token for a while (`invalid_auth`,
 * `account_inactive`: not retried by the SDK) and when the bot stops while an attempt waits for
 * Slack's hello (the pending `start()` rejects with `undefined`). `bantay serve` also runs the
 * schedule and WAL archiving, so neither may end it.
 *
 * Contract: a failed attempt is logged (warning, with Slack's error) and another one is scheduled,
 * waiting at most a minute between attempts; an attempt cut short by stopping the bot is dropped.
 * Throws at start-up if the SDK no longer has the method this relies on, so an upgrade that
 * changes it fails the Socket Mode tests instead of silently losing the guard.
 */
export function keepReconnecting(receiver: SocketModeReceiver, logger: Logger): void {
  const client = receiver.client as unknown as ReconnectingClient;
  if (typeof client.delayReconnectAttempt !== 'function' || typeof client.numOfConsecutiveReconnectionFailures !== 'number') {
    throw new Error('@slack/socket-mode changed how it reconnects: review src/bot/socket-reconnect.ts before upgrading');
  }
  const schedule = client.delayReconnectAttempt.bind(client);
  const guarded = (cb: () => Promise<unknown>) =>
    function (this: unknown): Promise<unknown> {
      return cb.apply(this).catch((err: unknown) => {
        // Stopping: the attempt's caller (an earlier attempt, or nobody) must not go on with a
        // result, so it never gets one (no timer or socket is left to keep the process up).
        if (client.shuttingDown) return new Promise<never>(() => undefined);
        logger.warn({ error: err === undefined ? 'connection closed before Slack said hello' : slackErrorOf(err) }, 'Slack Socket Mode reconnect failed; trying again');
        return client.delayReconnectAttempt(cb);
      });
    };
  client.delayReconnectAttempt = (cb) => {
    // The SDK waits 5 s × the failures counted so far (it adds this one): at most a minute.
    client.numOfConsecutiveReconnectionFailures = Math.min(client.numOfConsecutiveReconnectionFailures, MAX_COUNTED_FAILURES - 1);
    return schedule(guarded(cb));
  };
}
