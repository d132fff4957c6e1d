// Why: everything a readiness gate takes, declared once: the CLI, a go-live steering it and the
// tests import these definitions instead of spelling names.
import * as wf from '@temporalio/workflow';
import type { SignOffInput, WaiveInput } from '../../domain/readiness/input';
import { abortSignal, abortUpdate, defineStatusQuery, type WorkflowMessages } from '../common/messages';
import type { ReadinessStatus } from './state';

export { abortSignal, abortUpdate };
export interface RecheckInput {
  /** The automated items to check again; none named: every automated item. */
  items?: string[];
  by?: string;
}
export const statusQuery = defineStatusQuery<ReadinessStatus>();
/** An Update only: a sign-off names its signer and is checked against the checklist. */
export const signOffUpdate = wf.defineUpdate<ReadinessStatus, [SignOffInput]>('signOff');
export const waiveUpdate = wf.defineUpdate<ReadinessStatus, [WaiveInput]>('waive');
/** Re-runs the named automated items (all of them when none is named). */
export const recheckSignal = wf.defineSignal<[RecheckInput?]>('recheck');
/** The same, answered: unknown items or a closed gate are refused before anything is written. */
export const recheckUpdate = wf.defineUpdate<ReadinessStatus, [RecheckInput]>(recheckSignal.name);

export const readinessMessages: WorkflowMessages = {
  status: statusQuery,
  signals: [recheckSignal, abortSignal],
  actions: { recheck: recheckUpdate, 'sign-off': signOffUpdate, waive: waiveUpdate, abort: abortUpdate },
};
