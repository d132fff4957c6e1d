// Why: everything a cutover takes, declared once: the CLI, an incident stopping it, a go-live
// steering it and the tests import these definitions instead of spelling names.
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
import type { BatchSignal, CutoverStatus } from './status';

export { abortSignal, abortUpdate, approveSignal, approveUpdate, pauseSignal, pauseUpdate, resumeSignal, resumeUpdate };
export const statusQuery = defineStatusQuery<CutoverStatus>();
/** `{"batch": "managers", "startAt": "+6h"}`: a batch not started yet gets a new start time. */
export const rescheduleSignal = wf.defineSignal<[BatchSignal]>('reschedule');
/** `{"batch": 3}`: a batch not started yet is left out. */
export const skipSignal = wf.defineSignal<[BatchSignal]>('skip');
/** The same as Updates: answered with the status, or refused with why before anything is written. */
export const rescheduleUpdate = wf.defineUpdate<CutoverStatus, [BatchSignal]>(rescheduleSignal.name);
export const skipUpdate = wf.defineUpdate<CutoverStatus, [BatchSignal]>(skipSignal.name);

export const cutoverMessages: WorkflowMessages = {
  status: statusQuery,
  signals: [approveSignal, pauseSignal, resumeSignal, abortSignal, rescheduleSignal, skipSignal],
  actions: {
    approve: approveUpdate,
    pause: pauseUpdate,
    resume: resumeUpdate,
    abort: abortUpdate,
    reschedule: rescheduleUpdate,
    skip: skipUpdate,
  },
};
