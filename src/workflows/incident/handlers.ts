// Every query, signal and Update of an incident run, wired in one place to the state's transitions;
// set before the run's first await, so signals sent with the start are not lost.
import type { ZodType } from 'zod';
import * as wf from '@temporalio/workflow';
import { actorInput, alertInput, approveInput, noteInput } from '../../domain/incident/incident';
import { formatIssues } from '../../domain/validation';
import { ignoredSignalText } from '../common/operator-refusal';
import { signalNames } from '../common/messages';
import type { IncidentRun } from './run';
import type { IncidentState } from './state';
import { incidentStatus } from './status';
import {
  acknowledgeSignal,
  acknowledgeUpdate,
  alertSignal,
  approveSignal,
  approveStepUpdate,
  escalateSignal,
  incidentMessages,
  noteSignal,
  resolveSignal,
  resolveUpdate,
  statusQuery,
} from './messages';

/** A run that notes a signal no handler knows in its timeline (which the store then saves). */
const INCIDENT_NOTES_UNKNOWN_SIGNALS = 'incident-notes-unknown-signals';

/**
 * Signal input is parsed here: a malformed signal changes nothing (a signal cannot answer with an
 * error). The installation order is the order buffered signals are delivered in: keep it.
 */
export function installHandlers(run: IncidentRun): void {
  const { state } = run;
  wf.setHandler(statusQuery, () => incidentStatus(state));
  wf.setHandler(acknowledgeSignal, (raw) => {
    const a = actorInput.safeParse(raw ?? {});
    if (a.success && state.acknowledge(a.data)) run.publish();
  });
  wf.setHandler(resolveSignal, (raw) => {
    const a = actorInput.safeParse(raw ?? {});
    if (a.success && state.resolve(a.data)) run.publish();
  });
  wf.setHandler(escalateSignal, (raw) => {
    const a = actorInput.safeParse(raw ?? {});
    if (a.success) state.requestEscalation(a.data);
  });
  wf.setHandler(noteSignal, (raw) => {
    const n = noteInput.safeParse(raw);
    if (n.success) state.note(n.data);
  });
  wf.setHandler(approveSignal, (raw) => {
    const a = approveInput.safeParse(raw ?? {});
    if (a.success) state.approve(a.data);
  });
  wf.setHandler(alertSignal, (raw) => {
    const a = alertInput.safeParse(raw);
    if (a.success) state.alertFired(a.data);
  });

  // The Update forms: refused with why (bad input, already done, resolved) before history.
  const checked = <T>(schema: ZodType<T>, raw: unknown): T => {
    const r = schema.safeParse(raw ?? {});
    if (!r.success) throw new Error(formatIssues(r.error));
    return r.data;
  };
  wf.setHandler(
    acknowledgeUpdate,
    (raw) => {
      if (state.acknowledge(checked(actorInput, raw))) run.publish();
      return incidentStatus(state);
    },
    { validator: (raw) => refuse(acknowledgeRefusal(state, checked(actorInput, raw))) },
  );
  wf.setHandler(
    resolveUpdate,
    (raw) => {
      if (state.resolve(checked(actorInput, raw))) run.publish();
      return incidentStatus(state);
    },
    { validator: (raw) => refuse(resolveRefusal(state, checked(actorInput, raw))) },
  );
  wf.setHandler(
    approveStepUpdate,
    (raw) => {
      state.approve(checked(approveInput, raw));
      return incidentStatus(state);
    },
    { validator: (raw) => refuse(approveRefusal(state, checked(approveInput, raw))) },
  );

  // A signal no handler knows goes on the timeline, not into silence; a run from before this
  // (whose store saves would differ) goes on as it was.
  const known = signalNames(incidentMessages);
  wf.setDefaultSignalHandler((name: string) => {
    if (wf.patched(INCIDENT_NOTES_UNKNOWN_SIGNALS))
      state.note({ text: ignoredSignalText(name, wf.workflowInfo().workflowType, known) });
  });
}

function refuse(why: string | undefined): void {
  if (why) throw new Error(why);
}

const whoWhen = (by?: string, at?: string) => `${by ? ` by ${by}` : ''}${at ? ` at ${at}` : ''}`;

export function acknowledgeRefusal(state: IncidentState, _a: { by?: string }): string | undefined {
  const incident = state.record;
  if (state.resolved)
    return `incident ${incident.id} is already resolved${whoWhen(state.resolvedBy, incident.resolvedAt)}`;
  if (state.acknowledged)
    return `incident ${incident.id} is already acknowledged${whoWhen(incident.owner, incident.acknowledgedAt)}`;
  return undefined;
}

export function resolveRefusal(state: IncidentState, _a: { by?: string }): string | undefined {
  const incident = state.record;
  return state.resolved
    ? `incident ${incident.id} is already resolved${whoWhen(state.resolvedBy, incident.resolvedAt)}`
    : undefined;
}

/** A named step the runbook (once planned) does not hold, or a resolved incident, is refused. */
export function approveRefusal(state: IncidentState, a: { step?: string }): string | undefined {
  const incident = state.record;
  if (state.resolved)
    return `incident ${incident.id} is already resolved${whoWhen(state.resolvedBy, incident.resolvedAt)}`;
  if (a.step !== undefined && state.steps.length > 0 && !state.steps.some((s) => s.id === a.step)) {
    return `step: no step "${a.step}" in the runbook (steps: ${state.steps.map((s) => s.id).join(', ')})`;
  }
  if (a.step !== undefined && state.isApproved(a.step)) return `step "${a.step}" is already approved`;
  return undefined;
}
