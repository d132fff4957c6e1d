// Why: everything a rollout takes, declared once: the CLI, an incident stopping the rollout, a
// go-live steering it and the tests import these definitions instead of spelling names.
import * as wf from '@temporalio/workflow';
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  defineStatusQuery,
  pauseSignal,
  pauseUpdate,
  resumeSignal,
  resumeUpdate,
  type WorkflowMessages,
} from '../common/messages';
import type { RolloutStatus } from './status';

export { abortSignal, abortUpdate, approveSignal, approveUpdate, pauseSignal, pauseUpdate, resumeSignal, resumeUpdate };
export const statusQuery = defineStatusQuery<RolloutStatus>();
/** Ends the current window early at the next passing sample (rollout only). */
export const promoteSignal = wf.defineSignal<[{ by?: string }?]>('promote');

export const rolloutMessages: WorkflowMessages = {
  status: statusQuery,
  signals: [approveSignal, pauseSignal, resumeSignal, abortSignal, promoteSignal],
  actions: { approve: approveUpdate, pause: pauseUpdate, resume: resumeUpdate, abort: abortUpdate },
};
