import type { Command } from 'commander';
import { CliContext, UsageError } from '../cli-context';
import { reportStore } from '../../activities/report/store';

/** `opsflow report show [date]`: a kept daily report, as Markdown (or HTML with --html). */
export function registerReportCommands(program: Command, ctx: CliContext) {
  const report = program.command('report').description('daily reports (runbooks §4) kept in PostgreSQL');
  report
    .command('show [date]')
    .description('print the daily report of a date (YYYY-MM-DD), by default the newest')
    .option('--html', 'print the HTML version')
    .action(async (date: string | undefined, o: { html?: boolean }) => {
      if (date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(date))
        throw new UsageError(`date: "${date}" is not a date as YYYY-MM-DD`);
      const store = reportStore(ctx.config());
      if (!store)
        throw new UsageError(
          `dailyReport.store is not configured in ${ctx.configName() ?? 'the config'}: no reports are kept`,
        );
      const found = await store.find(date);
      if (!found) throw new UsageError(date ? `no daily report of ${date} is kept` : 'no daily report is kept yet');
      process.stdout.write(o.html ? found.html : found.markdown);
    });
}
