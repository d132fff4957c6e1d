// Telling people: one message per notifier per event (its key makes a retry harmless), PagerDuty
// triggered, acknowledged and resolved by the incident's dedup key, every outcome on the timeline.
import * as wf from '@temporalio/workflow';
import { notificationSeverity } from '../../domain/incident/severity';
import { onCallAt } from '../../domain/incident/oncall';
import { resolveRecipients } from '../../domain/incident/escalation';
import type { Notification } from '../../domain/notification';
import { notifyAll as sendToAll } from '../common/notify';
import type { IncidentRun } from './run';

export async function notifyAll(
  run: IncidentRun,
  event: string,
  notifiers: string[],
  title: string,
  text: string,
  action?: Notification['action'],
  severity: Notification['severity'] = notificationSeverity[run.state.record.severity],
): Promise<void> {
  const { state, workflowId } = run;
  const incident = state.record;
  // The chain's first run id: a reset run (a new runId) that triggers again folds into the same
  // PagerDuty incident and resolves it. For a run never reset it is the run's own id, as before.
  const dedupKey = `${workflowId}/${wf.workflowInfo().firstExecutionRunId}`;
  await sendToAll(notifiers, event, {
    message: (name) => ({
      severity,
      title,
      text,
      details: {
        incident: incident.id,
        workflowId,
        severity: incident.severity,
        type: incident.type,
        services: incident.services,
      },
      ...(run.plan?.notifierTypes[name] === 'pagerduty' ? { action: action ?? 'trigger', dedupKey } : {}),
    }), // Only a PagerDuty message has an action.
    summary: (n) => `${event}: ${n.action ? `PagerDuty ${n.action}` : 'notify'} ${n.notifier}`,
    onSent: (n) => state.notifiedOk(event, n.notifier, n.action),
    onFailed: (n, failure) => state.notifyFailed(event, n.notifier, failure),
  });
}

/** Recipients resolved now: the rota may have changed shift since the incident opened. */
export function recipientsNow(run: IncidentRun, names: string[], withChannels: boolean): string[] {
  const { plan } = run;
  return resolveRecipients(names, plan.contacts, onCallAt(plan.rota, new Date()), withChannels ? plan.channels : []);
}

export function headline(run: IncidentRun): string {
  const incident = run.state.record;
  return `[${incident.severity}] ${incident.id}: ${incident.title}`;
}

/** The body of the opening and escalation messages: what, who is on call, by when, how to acknowledge. */
export function describe(run: IncidentRun): string {
  const { state, plan, input } = run;
  const incident = state.record;
  const lines = [
    `${incident.severity} (${incident.severityReason}), type ${incident.type}`,
    `services: ${incident.services.join(', ') || 'none named'}`,
  ];
  const m = Object.entries(incident.metrics);
  if (m.length) lines.push(`metrics: ${m.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  const onCall = state.onCall;
  if (onCall) lines.push(`on call: ${onCall.oncall ?? onCall.shift} (${onCall.shift} shift, ${onCall.localTime})`);
  lines.push(`respond by ${incident.sla.respondBy}, resolve by ${incident.sla.resolveBy}`);
  if (incident.severity === 'P0' && plan?.warRoomUrl) lines.push(`war room: ${plan.warRoomUrl}`);
  if (input.generatorUrl) lines.push(`alert: ${input.generatorUrl}`);
  if (input.description) lines.push(input.description);
  lines.push(`acknowledge: opsflow acknowledge ${run.workflowId} --by <you>`);
  return lines.join('\n');
}

/** runbooks §6's notify column, or for P3 the business-hours digest instead of anyone's phone. */
export async function notifyOpened(run: IncidentRun): Promise<void> {
  const { state } = run;
  if (state.record.severity === 'P3') {
    state.record.digest = true;
    state.add(
      'digest',
      run.plan.storeMissing
        ? 'P3: nobody is paged; with no incident store it is in no business-hours digest'
        : 'P3: recorded for the business-hours digest; nobody is paged',
    );
    return;
  }
  await notifyAll(
    run,
    'opened',
    recipientsNow(run, run.plan.recipients[state.record.severity], true),
    headline(run),
    describe(run),
  );
}
