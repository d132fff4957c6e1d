// Why: runbooks §10's go-live readiness as a gate evaluated live: every automated item checked at the
// gate with its evidence, human items signed, failing items waived by an owner until a time; the
// gate closes READY the moment every item is passed, signed or waived, or NOT READY at its deadline.
import * as wf from '@temporalio/workflow';
import { readinessInput, type ReadinessInput, type ReadinessPlan } from '../../domain/readiness/input';
import { readinessActivityOf, type AutomatedCheck } from '../../domain/readiness/checks';
import { notifyAll } from '../common/notify';
import { OpsflowPhase, OpsflowService } from '../../domain/search-attributes';
import { parseInput } from '../input';
import { RunEnding } from '../common/ending';
import { Progress, withSummary } from '../common/progress';
import { acts, checkOptions } from './activities';
import { installHandlers } from './handlers';
import { renderReadinessDetails, renderReadinessReport, readinessWaitSummary } from './report';
import { ReadinessRun, type ReadinessCarry, type ReadinessStatus } from './state';
import { continueAsNewWith, historyIsLong } from '../common/continue-as-new';

export interface ReadinessResult {
  ready: boolean;
  /** Items that kept the gate shut (empty when ready). */
  blocking: string[];
  /** The Markdown report: every item with its evidence or signer, and the verdict. */
  report: string;
  status: ReadinessStatus;
}

export async function readinessCheckWorkflow(
  rawInput: ReadinessInput,
  carried?: ReadinessCarry,
): Promise<ReadinessResult> {
  const ending = new RunEnding();
  return ending.run(() => gate(rawInput, carried, ending));
}

async function gate(
  rawInput: ReadinessInput,
  carried: ReadinessCarry | undefined,
  ending: RunEnding,
): Promise<ReadinessResult> {
  const input = parseInput(readinessInput, rawInput, 'readinessCheckWorkflow');
  const run = new ReadinessRun(input.service, input.checklist, carried?.status);
  const progress = new Progress(() => renderReadinessDetails(run.status, wf.workflowInfo().workflowId));
  let changed = false;
  let recheck: Set<string> | undefined = carried?.recheck ? new Set(carried.recheck) : undefined;
  let aborted: string | undefined = carried?.aborted;
  installHandlers(run, {
    onChange: () => (changed = true),
    onRecheck: (items, by) => {
      recheck ??= new Set();
      for (const id of items ?? run.automated().map((i) => i.id)) recheck.add(id);
      run.decide(`recheck of ${items?.join(', ') ?? 'every automated item'} requested${by ? ` by ${by}` : ''}`);
    },
    onAbort: (reason) => (aborted ??= reason),
  });
  ending.onEnd(({ kind, message }) => {
    const was = run.end(kind, message);
    progress.end([{ key: OpsflowPhase, value: kind }]);
    return `readiness of ${input.service} ${kind} while ${was}`;
  });

  let deadlineMs: number;
  if (carried) {
    deadlineMs = carried.deadlineMs;
    progress.show();
  } else {
    const items = await acts.readinessChecklist.executeWithOptions(
      withSummary(checkOptions, `checklist ${input.checklist}`),
      [input.checklist],
    );
    deadlineMs = Date.now() + input.deadline;
    run.load(items, new Date(deadlineMs).toISOString());
    progress.update([
      { key: OpsflowService, value: input.service },
      { key: OpsflowPhase, value: 'checking' },
    ]);
    await runChecks(
      input,
      run,
      run.automated().map((i) => i.id),
      progress,
    );
  }

  for (;;) {
    run.evaluate(Date.now());
    if (run.status.ready) {
      run.finish('every item passed, signed or waived');
      break;
    }
    if (aborted) {
      run.finish(aborted);
      break;
    }
    if (Date.now() >= deadlineMs) {
      run.finish(`the gate's deadline ${new Date(deadlineMs).toISOString()} passed`);
      break;
    }
    if (run.status.phase !== 'waiting') {
      run.waiting();
      progress.phase('waiting');
    } else progress.show();
    // Wake for a sign-off, a waiver, a recheck or an abort; or when a waiver lapses or the deadline comes.
    const wakeMs = Math.min(deadlineMs, run.nextWaiverExpiry() ?? Infinity);
    const summary = readinessWaitSummary(
      run.status,
      new Date(wakeMs).toISOString(),
      wakeMs === deadlineMs,
      wf.workflowInfo().workflowId,
    );
    await wf.condition(
      () => changed || recheck !== undefined || aborted !== undefined,
      Math.max(1, wakeMs - Date.now()),
      { summary },
    );
    changed = false;
    if (recheck) {
      const ids = [...recheck];
      recheck = undefined;
      await runChecks(input, run, ids, progress);
    }
    // Many re-checks, sign-offs and waivers: a fresh history carrying the whole gate.
    if (historyIsLong(input.maxHistoryEvents)) {
      const generation = (carried?.generation ?? 0) + 1;
      run.decide(`continuing as new (history generation ${generation})`);
      await continueAsNewWith<typeof readinessCheckWorkflow>(rawInput, {
        status: run.status,
        deadlineMs,
        ...(recheck ? { recheck: [...recheck] } : {}),
        ...(aborted ? { aborted } : {}),
        generation,
      });
    }
  }

  progress.phase(run.status.phase);
  const report = renderReadinessReport(run.status);
  await tellAll(input, run, report);
  return { ready: run.status.ready, blocking: run.status.blocking, report, status: run.status };
}

/** One round: the named automated items checked in parallel, each by its own activity. */
async function runChecks(input: ReadinessPlan, run: ReadinessRun, ids: string[], progress: Progress): Promise<void> {
  run.checking(ids);
  if (run.status.rounds > 1) progress.phase('checking');
  else progress.show();
  const { workflowId, runId } = wf.workflowInfo();
  const runKey = `${workflowId}/${runId}/${run.status.rounds}`;
  await Promise.all(
    ids.map(async (id) => {
      const item = run.automated().find((i) => i.id === id)!;
      const activity = acts[readinessActivityOf[item.check as AutomatedCheck]];
      const r = await activity.executeWithOptions(withSummary(checkOptions, `${id}: ${item.description}`), [
        { checklist: input.checklist, item: id, runKey },
      ]);
      run.checked(r);
      progress.show();
    }),
  );
}

async function tellAll(input: ReadinessPlan, run: ReadinessRun, report: string): Promise<void> {
  const { workflowId, runId } = wf.workflowInfo();
  await notifyAll(input.notify, 'readiness', {
    message: () => ({
      severity: run.status.ready ? 'info' : 'warning',
      title: `Readiness of ${input.service}: ${run.status.ready ? 'READY' : 'NOT READY'}`,
      text: report,
      details: { workflowId, runId, ready: run.status.ready, blocking: run.status.blocking },
    }),
    summary: (m) => `report to ${m.notifier}`,
  });
}
