// Why: everything a go-live takes, declared once: the CLI and the tests import these definitions
// instead of spelling names. Its children are steered with their own folders' definitions.
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
import type { GoLiveStatus } from './state';

export { abortSignal, abortUpdate, approveSignal, approveUpdate, pauseSignal, pauseUpdate, resumeSignal, resumeUpdate };
export const statusQuery = defineStatusQuery<GoLiveStatus>();

export const goLiveMessages: WorkflowMessages = {
  status: statusQuery,
  signals: [approveSignal, pauseSignal, resumeSignal, abortSignal],
  actions: { approve: approveUpdate, pause: pauseUpdate, resume: resumeUpdate, abort: abortUpdate },
};
