import * as wf from '@temporalio/workflow';
import type { DailyReportState, DailyReportStatus } from './state';

export const dailyReportStatusQuery = wf.defineQuery<DailyReportStatus>('status');

/** Every handler of a daily report run, in one place (it takes no signals: it runs for minutes). */
export function installDailyReportHandlers(state: DailyReportState): void {
  wf.setHandler(dailyReportStatusQuery, () => state.status);
}
