// Why: every workflow keys its messages the same way, so that a receiver that honours the key
// keeps one copy of a message however often the run sends it.
import * as wf from '@temporalio/workflow';
import { notificationKey } from '../../domain/notification';

/**
 * The idempotency key of the message about `event` to `notifier` from this run:
 * `<workflowId>/<firstExecutionRunId>/<event>/<notifier>`. The first run's id is the same in every
 * run of a continue-as-new chain, so a continued run that sends an event again (a hand-over during
 * a notification, a repeated final report) sends the same key and the receiver drops the repeat;
 * a new start under the same workflow id (the next deploy of a service) is a new chain with new keys.
 */
export function runNotificationKey(event: string, notifier: string): string {
  const { workflowId, firstExecutionRunId } = wf.workflowInfo();
  return notificationKey(workflowId, firstExecutionRunId, event, notifier);
}
