/** A message to people, sent by the `notify` activity through a notifier named in the config. */
export type NotificationSeverity = 'info' | 'warning' | 'critical' | 'emergency';

export interface Notification {
  /** The config name of the notifier (`notifiers.<name>`). */
  notifier: string;
  /**
   * Stable for one logical message (derived from the workflow id, run and event), so that a retried
   * send is recognisably the same message and a key-honouring receiver keeps one.
   */
  idempotencyKey: string;
  title: string;
  text: string;
  /** An HTML rendering of `text`, for notifiers that can show one (email's HTML part). */
  html?: string;
  severity: NotificationSeverity;
  details?: Record<string, unknown>;
  /**
   * For notifiers that track an incident's life (PagerDuty): what this message does to it, and the
   * key that ties trigger, acknowledge and resolve together. Others ignore both; absent means a
   * trigger keyed by `idempotencyKey`.
   */
  action?: 'trigger' | 'acknowledge' | 'resolve';
  dedupKey?: string;
}

/**
 * The key of one message of one run chain: `<workflowId>/<firstRunId>/<event>/<notifier>`, with
 * the chain's first run id, which continue-as-new does not change.
 */
export function notificationKey(workflowId: string, firstRunId: string, event: string, notifier: string): string {
  return `${workflowId}/${firstRunId}/${event}/${notifier}`;
}
