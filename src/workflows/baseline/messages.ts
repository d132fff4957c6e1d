// Why: everything a baseline run takes, declared once: the CLI, a go-live steering it and the
// tests import these definitions instead of spelling names.
import { controlledMessages, defineStatusQuery } from '../common/messages';
import type { BaselineStatus } from './state';

export { abortSignal, abortUpdate } from '../common/messages';
export const statusQuery = defineStatusQuery<BaselineStatus>();

export const baselineMessages = controlledMessages(statusQuery, ['abort']);
