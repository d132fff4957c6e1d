// Why: every workflow keys its messages the same way, so that a receiver that honours the key
// keeps one copy of a message however often the run sends it; and every workflow sends them the
// same way, so the sending is written once and each workflow keeps only its words and bookkeeping.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { notificationKey, type Notification } from '../../domain/notification';
import { failureMessage } from './failure';
import { notifyOptions } from './notify-options';
import { withSummary } from './progress';

/**
 * The idempotency key of the message about `event` to `notifier` from this run:
 * `<workflowId>/<firstExecutionRunId>/<event>/<notifier>`. The first run's id is the same in every
 * run of a continue-as-new chain, so a continued run that sends an event again (a hand-over during
 * a notification, a repeated final report) sends the same key and the receiver drops the repeat;
 * a new start under the same workflow id (the next deploy of a service) is a new chain with new keys.
 */
function runNotificationKey(event: string, notifier: string): string {
  const { workflowId, firstExecutionRunId } = wf.workflowInfo();
  return notificationKey(workflowId, firstExecutionRunId, event, notifier);
}

interface Sending {
  /** What the message to `notifier` says (whom it is for and its key are filled in here). */
  message: (notifier: string) => Omit<Notification, 'notifier' | 'idempotencyKey'>;
  /** The Web UI's summary of the activity that sends `message`. */
  summary: (message: Notification) => string;
  onSent?: (message: Notification) => void;
  /** Given: a message that could not be sent is recorded here and the run goes on; not given, it fails the run. */
  onFailed?: (message: Notification, failure: string) => void;
  /** One after the other, each awaited, instead of side by side. */
  inTurn?: boolean;
}

/**
 * Every message goes out under `notifyOptions` alone: a workflow's own proxy would lend it options
 * meant for other calls (a check's heartbeat timeout cut a slow mail server's send short).
 */
const { notify } = wf.proxyActivities<Activities>(notifyOptions);

/**
 * The message about `event` to every notifier. The promise is exactly as deep as the loops this
 * replaced (the bare activity when nothing follows it): a tick more or less can reorder the
 * commands of branches running side by side, and a recorded history would no longer replay.
 */
export function notifyAll(
  notifiers: readonly string[],
  event: string,
  { message: say, summary, onSent, onFailed, inTurn }: Sending,
): Promise<void> {
  const send = (notifier: string) => {
    const message = { notifier, idempotencyKey: runNotificationKey(event, notifier), ...say(notifier) };
    return { message, sent: notify.executeWithOptions(withSummary(notifyOptions, summary(message)), [message]) };
  };
  const failed = (message: Notification, err: unknown) => {
    // A cancelled run's message was not refused by anyone: recording it as "could not notify" and
    // going on would misreport the cancellation (runs recorded before this still went on).
    if (!onFailed || (wf.isCancellation(err) && wf.patched('notify-cancellation-propagates'))) throw err;
    onFailed(message, failureMessage(err));
  };
  const settle = async ({ message, sent }: ReturnType<typeof send>) => {
    try {
      await sent;
      onSent?.(message);
    } catch (err) {
      failed(message, err);
    }
  };
  if (!inTurn) {
    const all = Promise.all(notifiers.map((n) => (onSent || onFailed ? settle(send(n)) : send(n).sent)));
    return all as Promise<unknown> as Promise<void>; // the very promise: no `.then` to drop the results
  }
  return (async () => {
    for (const notifier of notifiers) {
      const { message, sent } = send(notifier);
      try {
        await sent;
        onSent?.(message);
      } catch (err) {
        failed(message, err);
      }
    }
  })();
}

/**
 * One message to each of `to`, one after the other, each outcome a decision on the run's record: a
 * lost message is for people to see and stops nothing (a rollback or a clean-up goes on).
 */
export function notifyOnRecord(
  to: readonly string[],
  event: string,
  { severity, title, text, details }: Omit<Notification, 'notifier' | 'idempotencyKey'>,
  decide: (text: string) => void,
): Promise<void> {
  return notifyAll(to, event, {
    message: () => ({ severity, title, text, details: { workflowId: wf.workflowInfo().workflowId, ...details } }),
    summary: (m) => `notify ${m.notifier}: ${title}`,
    onSent: (m) => decide(`notified ${m.notifier}: ${title}`),
    onFailed: (m, failure) => decide(`could not notify ${m.notifier}: ${failure}`),
    inTurn: true,
  });
}
