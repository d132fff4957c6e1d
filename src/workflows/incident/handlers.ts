// Every query, signal and Update of an incident run, wired in one place to the state's transitions;
// set before the run's first await, so signals sent with the start are not lost.
import type { ZodType } from 'zod';
import * as wf from '@temporalio/workflow';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { actorInput, alertInput, approveInput, noteInput } from '../../domain/incident/incident';
import { parsedMessage } from '../input';
import { ignoredSignalText } from '../common/operator-refusal';
import { signalNames } from '../common/messages';
import type { IncidentRun } from './run';
import type { IncidentState } from './state';
import { incidentStatus, type IncidentStatus } from './status';
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
  // A bare note or alert is as malformed as a bad one: each needs its fields.
  const on = <T>(signal: SignalDefinition<[unknown?]>, schema: ZodType<T>, act: (input: T) => unknown) =>
    wf.setHandler(signal, (raw) => {
      const a = schema.safeParse(raw ?? {});
      if (a.success) act(a.data);
    });
  on(acknowledgeSignal, actorInput, (a) => state.acknowledge(a) && run.publish());
  on(resolveSignal, actorInput, (a) => state.resolve(a) && run.publish());
  on(escalateSignal, actorInput, (a) => state.requestEscalation(a));
  on(noteSignal, noteInput, (n) => state.note(n));
  on(approveSignal, approveInput, (a) => state.approve(a));
  on(alertSignal, alertInput, (a) => state.alertFired(a));

  // The Update forms: refused with why (bad input, already done, resolved) before history.
  const checked = <T>(schema: ZodType<T>, raw: unknown): T => parsedMessage(schema, raw ?? {});
  const update = <T>(
    def: UpdateDefinition<IncidentStatus, [T]>,
    schema: ZodType<T>,
    act: (input: T) => unknown,
    refusal: (state: IncidentState, input: T) => string | undefined,
  ) =>
    wf.setHandler(
      def,
      (raw) => {
        act(checked(schema, raw));
        return incidentStatus(state);
      },
      {
        validator: (raw) => {
          const why = refusal(state, checked(schema, raw));
          if (why) throw new Error(why);
        },
      },
    );
  update(acknowledgeUpdate, actorInput, (a) => state.acknowledge(a) && run.publish(), acknowledgeRefusal);
  update(resolveUpdate, actorInput, (a) => state.resolve(a) && run.publish(), resolveRefusal);
  update(approveStepUpdate, approveInput, (a) => state.approve(a), approveRefusal);

  // A signal no handler knows goes on the timeline, not into silence; a run from before this
  // (whose store saves would differ) goes on as it was.
  const known = signalNames(incidentMessages);
  wf.setDefaultSignalHandler((name: string) => {
    if (wf.patched(INCIDENT_NOTES_UNKNOWN_SIGNALS))
      state.note({ text: ignoredSignalText(name, wf.workflowInfo().workflowType, known) });
  });
}

const whoWhen = (by?: string, at?: string) => `${by ? ` by ${by}` : ''}${at ? ` at ${at}` : ''}`;

export function resolveRefusal(state: IncidentState, _a?: { by?: string }): string | undefined {
  return state.resolved
    ? `incident ${state.record.id} is already resolved${whoWhen(state.resolvedBy, state.record.resolvedAt)}`
    : undefined;
}

export function acknowledgeRefusal(state: IncidentState, _a: { by?: string }): string | undefined {
  const incident = state.record;
  if (state.acknowledged && !state.resolved)
    return `incident ${incident.id} is already acknowledged${whoWhen(incident.owner, incident.acknowledgedAt)}`;
  return resolveRefusal(state);
}

/** A named step the runbook (once planned) does not hold, or a resolved incident, is refused. */
export function approveRefusal(state: IncidentState, a: { step?: string }): string | undefined {
  if (state.resolved) return resolveRefusal(state);
  if (a.step !== undefined && state.steps.length > 0 && !state.steps.some((s) => s.id === a.step)) {
    return `step: no step "${a.step}" in the runbook (steps: ${state.steps.map((s) => s.id).join(', ')})`;
  }
  if (a.step !== undefined && state.isApproved(a.step)) return `step "${a.step}" is already approved`;
  return undefined;
}
