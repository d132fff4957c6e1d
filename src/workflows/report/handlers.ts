import * as wf from '@temporalio/workflow';
import type { DailyReportState } from './state';
import { statusQuery } from './messages';

/** Every handler of a daily report run, in one place (it takes no signals: it runs for minutes). */
export function installDailyReportHandlers(state: DailyReportState): void {
  wf.setHandler(statusQuery, () => state.status);
}
