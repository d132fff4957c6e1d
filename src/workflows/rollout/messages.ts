// Why: everything a rollout takes, declared once: the CLI, an incident stopping the rollout, a
// go-live steering it and the tests import these definitions instead of spelling names.
import * as wf from '@temporalio/workflow';
import { controlledMessages, defineStatusQuery } from '../common/messages';
import type { RolloutStatus } from './status';

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
export const statusQuery = defineStatusQuery<RolloutStatus>();
/** Ends the current window early at the next passing sample (rollout only). */
export const promoteSignal = wf.defineSignal<[{ by?: string }?]>('promote');

export const rolloutMessages = controlledMessages(statusQuery, ['approve', 'pause', 'resume', 'abort'], {
  signals: [promoteSignal],
});
