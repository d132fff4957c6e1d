// The clocks that run beside the runbook until the incident is resolved: the resolve SLA, the
// escalation policy while nobody acknowledges (and on request), and PagerDuty's acknowledge.
import * as wf from '@temporalio/workflow';
import { nextEscalation } from '../../domain/incident/escalation';
import { describe, headline, notifyAll, recipientsNow } from './notify';
import { inBackground, type IncidentRun } from './run';
import { opsflowCommand } from '../../domain/operator-commands';

/** All three run in the background (started in this order: their timers keep it); the resolution awaits them. */
export function startClocks(run: IncidentRun): Promise<void>[] {
  const resolveClock = inBackground(watchResolveSla(run));
  const escalation = inBackground(escalateUntilResolved(run));
  const acknowledgement = inBackground(acknowledgePagerDuty(run));
  return [escalation, acknowledgement, resolveClock];
}

async function watchResolveSla(run: IncidentRun): Promise<void> {
  const { state } = run;
  const { severity, sla } = state.record;
  const inTime = await wf.condition(() => state.resolved, sla.resolveMinutes * 60_000, {
    summary: `resolve SLA ${severity}: ${sla.resolveMinutes} min — \`${opsflowCommand('resolve', run.workflowId)}\``,
  });
  if (!inTime) state.missedResolveSla();
}

/**
 * The policy's levels while nobody acknowledges (the first wait is the respond SLA); once
 * acknowledged or the policy is exhausted, only a person's `escalate` moves it further.
 */
async function escalateUntilResolved(run: IncidentRun): Promise<void> {
  const { state, plan } = run;
  const record = state.record;
  if (record.severity === 'P3') return;
  let done = 0;
  while (!state.resolved) {
    const step = nextEscalation(plan.escalation, done, record.sla.respondMinutes);
    if (state.acknowledged || !step) {
      await wf.condition(() => state.resolved || state.escalationRequested);
    } else {
      const inTime = await wf.condition(
        () => state.acknowledged || state.resolved || state.escalationRequested,
        step.waitMinutes * 60_000,
        {
          summary: `${done === 0 ? 'respond SLA' : 'escalation'}: level ${step.level} (${step.notify.join(', ')}) unless acknowledged within ${step.waitMinutes} min — \`${opsflowCommand('acknowledge', run.workflowId)}\``,
        },
      );
      if (inTime && !state.escalationRequested) continue; // acknowledged or resolved
      if (!inTime && done === 0) state.missedRespondSla();
    }
    if (state.resolved) return;
    const manual = state.takeEscalationRequest();
    // Past the policy's end a request repeats its levels.
    const next = step ?? nextEscalation({ ...plan.escalation, repeat: 1_000 }, done, record.sla.respondMinutes)!;
    done++;
    state.escalated(done, next, manual);
    run.publish();
    const why = manual
      ? `escalated by ${manual.by ?? 'request'}${manual.note ? `: ${manual.note}` : ''}`
      : `not acknowledged within ${next.waitMinutes} min`;
    await notifyAll(
      run,
      `escalated-${done}`,
      recipientsNow(run, next.notify, true),
      `ESCALATED (level ${next.level}) ${headline(run)}`,
      `${why}\n${describe(run)}`,
    );
  }
}

/** The people who were paged see the acknowledgement in PagerDuty too. */
async function acknowledgePagerDuty(run: IncidentRun): Promise<void> {
  const { state } = run;
  await wf.condition(() => state.acknowledged || state.resolved);
  if (!state.acknowledged || state.resolved) return;
  if (state.pagerDutyTriggered.length) {
    await notifyAll(
      run,
      'acknowledged',
      [...state.pagerDutyTriggered],
      headline(run),
      `acknowledged by ${state.record.owner ?? 'someone'}`,
      'acknowledge',
    );
  }
}
