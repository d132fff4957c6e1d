// Why: everything a go-live takes, declared once: the CLI and the tests import these definitions
// instead of spelling names. Its children are steered with their own folders' definitions.
import { controlledMessages, defineStatusQuery } from '../common/messages';
import type { GoLiveStatus } from './state';

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
export const statusQuery = defineStatusQuery<GoLiveStatus>();

export const goLiveMessages = controlledMessages(statusQuery, ['approve', 'pause', 'resume', 'abort']);
