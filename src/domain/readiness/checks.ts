/**
 * The activity that checks each kind of item (sign-offs have none). Plain data, so the workflow
 * can use it without importing the activities' code.
 */
export const readinessActivityOf = {
  tls: 'readinessTls',
  dns: 'readinessDns',
  tcp: 'readinessTcp',
  http: 'readinessHttp',
  roundTrip: 'readinessRoundTrip',
  auth: 'readinessAuth',
  prometheus: 'readinessPrometheus',
  loadBalancer: 'readinessLoadBalancer',
  systemd: 'readinessSystemd',
  healthCheck: 'readinessHealthCheck',
  backup: 'readinessBackup',
  notifier: 'readinessNotifier',
  postgres: 'readinessPostgres',
  redis: 'readinessRedis',
} as const;

export type AutomatedCheck = keyof typeof readinessActivityOf;

/** What the workflow learns of an item from the config (no secrets). */
export interface ChecklistItem {
  id: string;
  check: string;
  description: string;
  category?: string;
}
