// Why: everything a baseline run takes, declared once: the CLI, a go-live steering it and the
// tests import these definitions instead of spelling names.
import { abortSignal, abortUpdate, defineStatusQuery, type WorkflowMessages } from '../common/messages';
import type { BaselineStatus } from './state';

export { abortSignal, abortUpdate };
export const statusQuery = defineStatusQuery<BaselineStatus>();

export const baselineMessages: WorkflowMessages = {
  status: statusQuery,
  signals: [abortSignal],
  actions: { abort: abortUpdate },
};
