// Why: everything a deploy (and a rollback of one) takes, declared once: the CLI, an incident
// stopping it and the tests import these definitions instead of spelling names.
import { controlledMessages, defineStatusQuery } from '../common/messages';
import type { DeployStatus } from './status';

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
export const statusQuery = defineStatusQuery<DeployStatus>();

export const deployMessages = controlledMessages(statusQuery, ['approve', 'pause', 'resume', 'abort']);
