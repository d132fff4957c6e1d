// Why: everything a deploy (and a rollback of one) takes, declared once: the CLI, an incident
// stopping it and the tests import these definitions instead of spelling names.
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
import type { DeployStatus } from './status';

export { abortSignal, abortUpdate, approveSignal, approveUpdate, pauseSignal, pauseUpdate, resumeSignal, resumeUpdate };
export const statusQuery = defineStatusQuery<DeployStatus>();

export const deployMessages: WorkflowMessages = {
  status: statusQuery,
  signals: [approveSignal, pauseSignal, resumeSignal, abortSignal],
  actions: { approve: approveUpdate, pause: pauseUpdate, resume: resumeUpdate, abort: abortUpdate },
};
