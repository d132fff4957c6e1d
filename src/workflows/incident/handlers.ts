// Every query and signal of an incident run, wired in one place to the state's transitions; set
// before the run's first await, so signals sent with the start are not lost.
import * as wf from '@temporalio/workflow';
import { actorInput, alertInput, approveInput, noteInput, type ActorInput, type AlertInput, type NoteInput } from '../../domain/incident/incident';
import { approveSignal } from '../common/operator-controls';
import type { IncidentRun } from './run';
import { incidentStatus, type IncidentStatus } from './status';

;
export const acknowledgeSignal = wf.defineSignal<[ActorInput?]>('acknowledge');
export const resolveSignal = wf.defineSignal<[ActorInput?]>('resolve');
export const escalateSignal = wf.defineSignal<[ActorInput?]>('escalate');
export const noteSignal = wf.defineSignal<[NoteInput]>('note');
/** The alert receiver's signal-with-start: the same alert firing again joins this incident. */
export const alertSignal = wf.defineSignal<[AlertInput]>('alert');
const statusQuery = wf.defineQuery<IncidentStatus>('status');

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
}
