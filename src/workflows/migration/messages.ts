// Why: everything a data migration takes, declared once: the CLI, a go-live steering it and the
// tests import these definitions instead of spelling names.
import { controlledMessages, defineStatusQuery } from '../common/messages';
import type { MigrationStatus } from './status';

export { pauseSignal, pauseUpdate, resumeSignal, resumeUpdate } from '../common/messages';
export const statusQuery = defineStatusQuery<MigrationStatus>();

export const migrationMessages = controlledMessages(statusQuery, ['pause', 'resume']);
