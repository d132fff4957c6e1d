// The remediation runbook (runbooks §6): restart services and check their health, check the primary
// database and fail over, activate backup servers, collect diagnostics. Destructive steps wait for
// `approve` unless pre-approved; every action and its outcome lands on the timeline.
import * as wf from '@temporalio/workflow';
import type { Outcome } from '../../domain/incident/incident';
import type { RunbookStep } from '../../domain/incident/runbook';
import { failureMessage } from '../common/failure';
import { withSummary } from '../common/progress';
import { shownCondition } from '../common/operator-controls';
import { stepApprovalWaitText } from '../../domain/operator-commands';
import { headline, notifyAll, recipientsNow } from './notify';
import { acts, readOptions } from './activities';
import type { IncidentRun } from './run';

/** The long remediation activities heartbeat (activities/heartbeat.ts): a worker that dies mid-step is noticed in seconds. */
const LONG_ACTIVITY_HEARTBEAT = '10s';

type Step<K extends RunbookStep['kind']> = Extract<RunbookStep, { kind: K }>;

/** Every step in order; one the resolution overtook is skipped. Failures tell the channels. */
export async function runRunbook(run: IncidentRun): Promise<void> {
  const { state } = run;
  for (const step of state.steps) {
    if (state.resolved) {
      step.outcome = 'skipped';
      state.add('remediation', `${step.id}: skipped, the incident is resolved`, 'skipped');
      continue;
    }
    step.outcome = await runStep(run, step);
    if (step.outcome === 'skipped')
      state.add('remediation', `${step.id}: skipped (not approved before resolution)`, 'skipped');
  }
  if (state.steps.some((s) => s.outcome === 'failed') && !state.resolved) {
    const actions = state.timeline.filter((e) => e.kind === 'remediation');
    const text = actions.map((e) => `${e.outcome ?? ''} ${e.message}`.trim()).join('\n');
    await notifyAll(
      run,
      'remediation-failed',
      recipientsNow(run, [], true),
      `Auto-remediation incomplete: ${headline(run)}`,
      text,
    );
  }
}

function runStep(run: IncidentRun, step: RunbookStep): Promise<Outcome> {
  switch (step.kind) {
    case 'restart':
      return restart(run, step);
    case 'database':
      return checkDatabase(run, step);
    case 'diagnostics':
      return collectDiagnostics(run);
    case 'backup-servers':
      return activateBackupServers(run, step);
  }
}

/** Runs at once when it needs no approval or has one; else waits for `approve` or the resolution. */
async function approved(run: IncidentRun, step: RunbookStep, what: string): Promise<boolean> {
  const { state } = run;
  if (state.mayRunWithoutWaiting(step)) return true;
  state.waitForApproval(step, what);
  run.publish();
  await shownCondition(
    () => state.isApproved(step.id) || state.resolved,
    stepApprovalWaitText(`runbook step ${step.id}`, run.workflowId, step.id),
  );
  const yes = state.approvalWaitOver(step);
  run.publish();
  return yes;
}

/** Records a failed action and says the step failed. */
function failed(run: IncidentRun, what: string, err: unknown): Outcome {
  run.state.add('remediation', `${what}: ${failureMessage(err)}`, 'failed');
  return 'failed';
}

async function restart(run: IncidentRun, step: Step<'restart'>): Promise<Outcome> {
  const { state } = run;
  const remediation = step.remediation;
  const where = remediation.host ? ` on ${remediation.host}` : '';
  if (!(await approved(run, step, `restart ${remediation.units.join(', ')}${where}`))) return 'skipped';
  for (const unit of remediation.units) {
    try {
      await acts.restartUnit.executeWithOptions(
        {
          heartbeatTimeout: LONG_ACTIVITY_HEARTBEAT,
          startToCloseTimeout: '2m',
          retry: { maximumAttempts: 3, initialInterval: '2s' },
          summary: `systemctl restart ${unit}${where}`,
        },
        [{ unit, host: remediation.host }],
      );
      state.add('remediation', `restarted ${unit}${where}`, 'ok');
    } catch (err) {
      return failed(run, `restart ${unit}${where} failed`, err);
    }
  }
  if (!remediation.health) return 'ok';
  await wf.sleep(remediation.settleSeconds * 1000, {
    summary: `wait ${remediation.settleSeconds} s for ${step.service} to settle`,
  });
  try {
    const h = await acts.verifyHealthEndpoint.executeWithOptions(
      {
        startToCloseTimeout: '1m',
        retry: {
          maximumAttempts: remediation.healthAttempts,
          initialInterval: remediation.healthIntervalSeconds * 1000,
          backoffCoefficient: 1,
        },
        summary: `verify ${remediation.health} health (up to ${remediation.healthAttempts} tries)`,
      },
      [remediation.health],
    );
    state.add(
      'remediation',
      `${remediation.health} healthy after restart (HTTP ${h.status} in ${h.latencyMs} ms)`,
      'ok',
    );
    return 'ok';
  } catch (err) {
    return failed(run, `${remediation.health} still unhealthy after restart`, err);
  }
}

async function checkDatabase(run: IncidentRun, step: Step<'database'>): Promise<Outcome> {
  const { state } = run;
  const check = await acts.checkPrimaryDatabase.executeWithOptions(
    withSummary(readOptions, `check primary ${step.primary}: SELECT 1`),
    [step.primary],
  );
  if (check.ok) {
    state.add('remediation', `primary ${step.primary} answers SELECT 1 in ${check.latencyMs} ms: no failover`, 'ok');
    return 'ok';
  }
  state.add('remediation', `primary ${step.primary} is down: ${check.error ?? 'no answer'}`, 'failed');
  const how = step.command ? `run ${step.command.join(' ')}` : `pg_promote() on ${step.replica}`;
  if (!(await approved(run, step, `fail over: ${how}`))) return 'skipped';
  try {
    const f = await acts.failoverDatabase.executeWithOptions(
      {
        heartbeatTimeout: LONG_ACTIVITY_HEARTBEAT,
        startToCloseTimeout: '3m',
        retry: { maximumAttempts: 3, initialInterval: '5s' },
        summary: `fail over: ${how}`,
      },
      [{ replica: step.replica, command: step.command }],
    );
    state.add('remediation', `failover: ${f.message}`, 'ok');
    return 'ok';
  } catch (err) {
    return failed(run, 'failover failed', err);
  }
}

async function collectDiagnostics(run: IncidentRun): Promise<Outcome> {
  // Diagnostics are written onto the stored record: not before the store has answered for its id.
  await run.storeSettled();
  // Without a store they would be collected and then lost: they come back, bounded, for `status`.
  const keep = run.storeless();
  try {
    const d = await acts.collectDiagnostics.executeWithOptions(
      {
        heartbeatTimeout: LONG_ACTIVITY_HEARTBEAT,
        startToCloseTimeout: '3m',
        retry: { maximumAttempts: 3, initialInterval: '2s' },
        summary: 'collect diagnostics into the incident record',
      },
      [{ incidentId: run.state.record.id, ...(keep ? { keep: true } : {}) }],
    );
    if (d.kept !== undefined) run.state.diagnostics = d.kept;
    const outcome = d.failed.length ? 'failed' : 'ok';
    const failedParts = d.failed.length ? ` (failed: ${d.failed.join(', ')})` : '';
    run.state.add(
      'remediation',
      `diagnostics collected: ${d.sections.join(', ') || 'nothing configured'}${failedParts}` +
        (d.kept !== undefined ? ' (no store: kept in status.diagnostics)' : ''),
      outcome,
    );
    return outcome;
  } catch (err) {
    return failed(run, 'diagnostics failed', err);
  }
}

async function activateBackupServers(run: IncidentRun, step: Step<'backup-servers'>): Promise<Outcome> {
  if (!(await approved(run, step, `set ${step.servers.join(', ')} ready on ${step.lb}`))) return 'skipped';
  for (const server of step.servers) {
    try {
      await acts.setLoadBalancerServerState.executeWithOptions(
        {
          startToCloseTimeout: '1m',
          retry: { maximumAttempts: 5, initialInterval: '2s' },
          summary: `LB ${step.lb}: ${server} → ready (backup)`,
        },
        [{ lb: step.lb, server, state: 'ready' }],
      );
      run.state.add('remediation', `backup server ${server} ready on ${step.lb}`, 'ok');
    } catch (err) {
      return failed(run, `backup server ${server} on ${step.lb} failed`, err);
    }
  }
  return 'ok';
}
