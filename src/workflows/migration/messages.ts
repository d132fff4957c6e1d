// Why: everything a data migration takes, declared once: the CLI, a go-live steering it and the
// tests import these definitions instead of spelling names.
import {
  defineStatusQuery,
  pauseSignal,
  pauseUpdate,
  resumeSignal,
  resumeUpdate,
  type WorkflowMessages,
} from '../common/messages';
import type { MigrationStatus } from './status';

export { pauseSignal, pauseUpdate, resumeSignal, resumeUpdate };
export const statusQuery = defineStatusQuery<MigrationStatus>();

export const migrationMessages: WorkflowMessages = {
  status: statusQuery,
  signals: [pauseSignal, resumeSignal],
  actions: { pause: pauseUpdate, resume: resumeUpdate },
};
