import { z } from 'zod';
import { nonNegativeInt } from '../fields';
import { durationIn } from '../duration';
import { targetName } from '../names';
import type { Severity } from './severity';
import type { OnCall } from './oncall';

/**
 * Who hears about an incident. A recipient is a role (`cto`, `ops-lead`, `business-owner`,
 * `engineers` or any role the config's `contacts` defines), the special role `on-call` (whoever
 * the rota says), or a notifier's name.
 */
export const recipient = targetName;
const ON_CALL = 'on-call';
export const builtinRoles = ['cto', 'ops-lead', 'business-owner', 'engineers', ON_CALL] as const;

/** runbooks §6's notify column. P3 notifies nobody at once: it is recorded for the business-hours digest. */
export const defaultSeverityRecipients: Record<Severity, string[]> = {
  P0: ['cto', 'ops-lead', ON_CALL, 'business-owner'],
  P1: ['ops-lead', ON_CALL, 'business-owner'],
  P2: [ON_CALL, 'engineers'],
  P3: [],
};

export const escalationLevel = z
  .object({
    notify: z.array(recipient).min(1),
    /** Minutes to wait for an acknowledgement before this level; default: the respond SLA. */
    afterMinutes: durationIn('minutes', 7 * 24 * 60).optional(),
  })
  .strict();

/** PagerDuty-like: levels tried in order while nobody acknowledges, the whole list `repeat` more times. */
export const escalationPolicy = z
  .object({
    levels: z.array(escalationLevel).min(1),
    repeat: nonNegativeInt.max(10).default(0),
  })
  .strict();
export type EscalationPolicy = z.infer<typeof escalationPolicy>;

export const defaultEscalationPolicy: EscalationPolicy = {
  levels: [{ notify: [ON_CALL, 'ops-lead'] }, { notify: ['ops-lead', 'cto'] }],
  repeat: 0,
};

export interface EscalationStep {
  /** 1-based: level 1 is the first escalation after the initial notification. */
  level: number;
  /** Which pass over the levels this is (0 = first). */
  pass: number;
  notify: string[];
  /** How long to wait, unacknowledged, before this step fires. */
  waitMinutes: number;
}

/**
 * The next escalation after `done` escalations, or undefined when the policy is exhausted.
 * Pure, so that the workflow only keeps a counter and the decision is unit-tested.
 */
export function nextEscalation(
  policy: EscalationPolicy,
  done: number,
  respondMinutes: number,
): EscalationStep | undefined {
  const n = policy.levels.length;
  const pass = Math.floor(done / n);
  if (pass > policy.repeat) return undefined;
  const idx = done % n;
  const level = policy.levels[idx];
  return { level: idx + 1, pass, notify: level.notify, waitMinutes: level.afterMinutes ?? respondMinutes };
}

/**
 * Turns recipients into notifier names: `on-call` through the rota, roles through `contacts`, any
 * other name is taken as a notifier. Order is kept and duplicates dropped, so one notifier gets one
 * message per event however many roles it serves.
 */
export function resolveRecipients(
  recipients: string[],
  contacts: Record<string, string[]>,
  onCall: OnCall,
  channels: string[] = [],
): string[] {
  const out: string[] = [];
  const add = (n: string) => {
    if (!out.includes(n)) out.push(n);
  };
  for (const r of recipients) {
    if (r === ON_CALL) onCall.notify.forEach(add);
    else if (r in contacts) contacts[r].forEach(add);
    else if (!(builtinRoles as readonly string[]).includes(r)) add(r);
  }
  channels.forEach(add);
  return out;
}
