import * as wf from '@temporalio/workflow';
import { dailyReportInput, type DailyReportInput, type DailyReportPlan } from '../../domain/report/input';
import type { DailyReportSections } from '../../domain/report/sections';
import type { Section } from '../../domain/diagnostics/findings';
import { reportBlocks, reportSummary } from '../../domain/report/view';
import { renderHtml, renderMarkdown } from '../../domain/report/render';
import { notifyAll } from '../common/notify';
import { parseInput } from '../input';
import { RunEnding } from '../common/ending';
import { failureMessage } from '../common/failure';
import { Progress } from '../common/progress';
import { acts, gatherAs } from './activities';
import { DailyReportState, type DailyReportResult } from './state';
import { statusQuery } from './messages';

/**
 * runbooks §4's 23:50 report: gather every part in parallel (a part that cannot be gathered says so in
 * the report, which is still sent), render Markdown and HTML from one template, keep it in
 * PostgreSQL, email the whole report and send the summary to Slack/webhook.
 */
export async function dailyReportWorkflow(rawInput: DailyReportInput = {}): Promise<DailyReportResult> {
  const ending = new RunEnding();
  return ending.run(async () => {
    const input = parseInput(dailyReportInput, rawInput, 'dailyReportWorkflow');
    const state = new DailyReportState();
    // No signals: a daily report runs for minutes.
    wf.setHandler(statusQuery, () => state.status);
    const progress = new Progress(() => state.details());
    ending.onEnd(({ kind, message }) => {
      const words = state.ended(kind, message);
      progress.end([]);
      return words;
    });

    const plan = await acts.planDailyReport.executeWithOptions(gatherAs('plan the report from the config'), [input]);
    state.planned(plan);
    progress.show();
    const sections = await gather(plan, state);

    const title = `Daily report ${plan.date} (${plan.timezone})`;
    const blocks = reportBlocks(sections);
    const report = {
      date: plan.date,
      summary: reportSummary(plan.date, sections),
      markdown: renderMarkdown(title, blocks),
      html: renderHtml(title, blocks),
    };
    state.rendered(report.summary);

    if (plan.store) {
      state.phase('storing');
      progress.show();
      try {
        await acts.storeDailyReport.executeWithOptions(gatherAs('keep the report in PostgreSQL'), [report]);
        state.stored(true);
      } catch (err) {
        if (wf.isCancellation(err)) throw err;
        state.stored(false, failureMessage(err));
      }
    }
    state.phase('sending');
    progress.show();
    const { workflowId, runId } = wf.workflowInfo();
    // The whole report to the email notifiers, its summary to the others; nothing else runs beside them.
    const send = (whole: boolean) =>
      notifyAll(whole ? plan.email : plan.summary, `daily-report-${whole ? 'full' : 'summary'}`, {
        message: () => ({
          severity: 'info',
          title,
          text: whole ? report.markdown : report.summary,
          ...(whole ? { html: report.html } : {}),
          details: { workflowId, runId, date: plan.date },
        }),
        summary: (m) => `${whole ? 'report' : 'summary'} to ${m.notifier}`,
        onSent: (m) => state.sent(m.notifier),
      });
    await Promise.all([send(true), send(false)]);
    const result = state.finish();
    progress.show();
    return result;
  });
}

/** Every part in parallel; a part that fails is a section saying why. */
async function gather(plan: DailyReportPlan, state: DailyReportState): Promise<DailyReportSections> {
  const part = async <T>(name: string, p: Promise<T>): Promise<Section<T>> => {
    try {
      return state.gathered(name, { ok: true as const, findings: await p });
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      return state.gathered(name, { ok: false as const, error: failureMessage(err) });
    }
  };
  const [host, services, errors, postgres, redis, backups, runs] = await Promise.all([
    part('host', acts.reportHost.executeWithOptions(gatherAs('host: uptime, load, memory, disks, network'), [])),
    part(
      'services',
      acts.reportServices.executeWithOptions(gatherAs(`service states: ${plan.units.join(', ') || 'none'}`), [
        plan.units,
      ]),
    ),
    part(
      'errors',
      acts.reportLogErrors.executeWithOptions(gatherAs('recent errors in the logs and the journal'), [
        plan.logs,
        { from: plan.from, to: plan.to },
      ]),
    ),
    Promise.all(
      plan.postgres.map(async (target) => ({
        target,
        ...(await part(
          `postgres:${target}`,
          acts.reportPostgres.executeWithOptions(gatherAs(`PostgreSQL ${target}: connections, sizes`), [target]),
        )),
      })),
    ),
    Promise.all(
      plan.redis.map(async (target) => ({
        target,
        ...(await part(
          `redis:${target}`,
          acts.reportRedis.executeWithOptions(gatherAs(`Redis ${target}: clients, memory`), [target]),
        )),
      })),
    ),
    Promise.all(
      plan.backups.map(async (set) => ({
        set,
        ...(await part(
          `backups:${set}`,
          acts.reportBackups.executeWithOptions(gatherAs(`backups ${set}: latest copies and drills`), [set]),
        )),
      })),
    ),
    part(
      'runs',
      acts.reportRuns.executeWithOptions(gatherAs("today's opsflow runs"), [{ from: plan.from, to: plan.to }]),
    ),
  ]);
  return { host, services, errors, postgres, redis, backups, runs };
}
