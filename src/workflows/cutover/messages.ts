// Why: everything a cutover takes, declared once: the CLI, an incident stopping it, a go-live
// steering it and the tests import these definitions instead of spelling names.
import * as wf from '@temporalio/workflow';
import { controlledMessages, defineStatusQuery } from '../common/messages';
import type { BatchSignal, CutoverStatus } from './status';

export {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  pauseSignal,
  pauseUpdate,
  resumeSignal,
  resumeUpdate,
} from '../common/messages';
export const statusQuery = defineStatusQuery<CutoverStatus>();
/** `{"batch": "managers", "startAt": "+6h"}`: a batch not started yet gets a new start time. */
export const rescheduleSignal = wf.defineSignal<[BatchSignal]>('reschedule');
/** `{"batch": 3}`: a batch not started yet is left out. */
export const skipSignal = wf.defineSignal<[BatchSignal]>('skip');
/** The same as Updates: answered with the status, or refused with why before anything is written. */
export const rescheduleUpdate = wf.defineUpdate<CutoverStatus, [BatchSignal]>(rescheduleSignal.name);
export const skipUpdate = wf.defineUpdate<CutoverStatus, [BatchSignal]>(skipSignal.name);

export const cutoverMessages = controlledMessages(statusQuery, ['approve', 'pause', 'resume', 'abort'], {
  signals: [rescheduleSignal, skipSignal],
  actions: { reschedule: rescheduleUpdate, skip: skipUpdate },
});
