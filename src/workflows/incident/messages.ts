// Why: everything an incident takes, declared once: the alert receiver (signal-with-start), the
// CLI and the tests import these definitions instead of spelling names.
import * as wf from '@temporalio/workflow';
import type { ActorInput, AlertInput, ApproveInput, NoteInput } from '../../domain/incident/incident';
import { approveSignal, defineStatusQuery, type WorkflowMessages } from '../common/messages';
import type { IncidentStatus } from './status';

export { approveSignal };
export const statusQuery = defineStatusQuery<IncidentStatus>();
export const acknowledgeSignal = wf.defineSignal<[ActorInput?]>('acknowledge');
export const resolveSignal = wf.defineSignal<[ActorInput?]>('resolve');
export const escalateSignal = wf.defineSignal<[ActorInput?]>('escalate');
export const noteSignal = wf.defineSignal<[NoteInput]>('note');
/** The alert receiver's signal-with-start: the same alert firing again joins this incident. */
export const alertSignal = wf.defineSignal<[AlertInput]>('alert');

/** The people's actions as Updates: answered with the status, or refused with why before anything is written. */
export const acknowledgeUpdate = wf.defineUpdate<IncidentStatus, [ActorInput]>(acknowledgeSignal.name);
export const resolveUpdate = wf.defineUpdate<IncidentStatus, [ActorInput]>(resolveSignal.name);
export const approveStepUpdate = wf.defineUpdate<IncidentStatus, [ApproveInput]>(approveSignal.name);

export const incidentMessages: WorkflowMessages = {
  status: statusQuery,
  signals: [acknowledgeSignal, resolveSignal, escalateSignal, noteSignal, approveSignal, alertSignal],
  actions: { acknowledge: acknowledgeUpdate, resolve: resolveUpdate, approve: approveStepUpdate },
};
