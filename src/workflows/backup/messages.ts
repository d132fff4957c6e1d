// Why: a backup takes no operator messages, only the `status` query; it is declared here like every
// long workflow's, so the CLI and the tests import the definition instead of spelling the name.
import { defineStatusQuery } from '../common/messages';
import type { BackupStatus } from './state';

export const statusQuery = defineStatusQuery<BackupStatus>();
