// Why: a deploy tells the input's notifiers when it stops, finishes or needs a person; each message
// keyed per run and event, so a repeat (a retry, a continued run) is dropped by the receiver.
import * as wf from '@temporalio/workflow';
import { notifyAll } from '../common/notify';

/** Tells the input's notifiers (nothing when it names none): `event` keys the message. */
export type Tell = (
  event: string,
  severity: 'info' | 'warning' | 'critical',
  title: string,
  text: string,
) => Promise<void>;

/** The notifications of one run, through the `notify` activity (idempotency key per run and event). */
export function teller(notifiers: string[]): Tell {
  return async (event, severity, title, text) => {
    if (notifiers.length === 0) return;
    const { workflowId, runId } = wf.workflowInfo();
    await notifyAll(notifiers, event, {
      message: () => ({ severity, title, text, details: { workflowId, runId } }),
      summary: (m) => `tell ${m.notifier}: ${title}`,
    });
  };
}
