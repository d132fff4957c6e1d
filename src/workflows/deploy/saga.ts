// Why: one host's deploy (or rollback) as a saga in the history: each step a named activity, and
// for each step that changed the host a compensation, run in reverse when a later step fails or
// the run is cancelled, so a host is never left drained or on a release that failed its check.
import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { formatDuration } from '../../domain/duration';
import { failureMessage } from '../common/failure';
import { withSummary } from '../common/progress';
import type { OperatorControls } from '../common/operator-controls';
import type { ApprovalRule } from '../../domain/approval';
import type { DeployRun } from './state';
import { notifyOptions } from '../common/notify-options';
import { runNotificationKey } from '../common/notify';
import { approvalWaitText } from '../../domain/operator-commands';

const quick: wf.ActivityOptions = {
  startToCloseTimeout: '1m',
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '15s' },
};
const long: wf.ActivityOptions = {
  startToCloseTimeout: '30m',
  heartbeatTimeout: '10s',
  retry: { maximumAttempts: 5, initialInterval: '2s', maximumInterval: '30s' },
};
const step = (options: wf.ActivityOptions, summary: string) =>
  wf.proxyActivities<Activities>(withSummary(options, summary));

interface HealthPolicy {
  attempts: number;
  interval: number;
}

export interface SagaPlan {
  service: string;
  host: string;
  /** The release to switch to. */
  release: string;
  /** Deploy: build it from this commit first; rollback: it exists already. */
  build?: { commit: string };
  /** Runs once, after the first build and before the first switch of the deploy. */
  beforeSwitch?: () => Promise<void>;
  health: HealthPolicy;
  drainTimeout: number;
}

export interface SagaContext {
  run: DeployRun;
  controls: OperatorControls;
  /** Who answers the run's approvals (its batches' and a stuck drain's); none: one person, anyone. */
  approvalRule?: ApprovalRule;
  show: () => void;
  /** Tells the input's notifiers (nothing when it names none): `event` keys the message. */
  tell: (event: string, severity: 'info' | 'warning' | 'critical', title: string, text: string) => Promise<void>;
}

/** The notifications of one run, through the `notify` activity (idempotency key per run and event). */
export function teller(notifiers: string[]): SagaContext['tell'] {
  return async (event, severity, title, text) => {
    if (notifiers.length === 0) return;
    const { workflowId, runId } = wf.workflowInfo();
    await Promise.all(
      notifiers.map((name) =>
        wf.proxyActivities<Activities>(withSummary(notifyOptions, `tell ${name}: ${title}`)).notify({
          notifier: name,
          idempotencyKey: runNotificationKey(event, name),
          severity,
          title,
          text,
          details: { workflowId, runId },
        }),
      ),
    );
  };
}

/** `flapping`: the host's release passed and then failed its health check (the fleet stops whatever the budget). */
export type SagaOutcome = { ok: true } | { ok: false; error: string; flapping: boolean };

function healthOptions(h: HealthPolicy): wf.ActivityOptions {
  return {
    startToCloseTimeout: h.attempts * (h.interval + 10_000) + 60_000,
    heartbeatTimeout: '10s',
    retry: { maximumAttempts: 3 },
  };
}

/**
 * A stuck drain's approval is the host's own wait (step "drain-<host>", the hosts of a batch in turn)
 * under the deploy's `approvalRule`; runs recorded before shared the batch's step number, one wait
 * for all its hosts, and one person sufficed.
 */
const DRAIN_APPROVAL_OWN = 'opsflow-deploy-drain-approval-own-step';

/**
 * Waits for the LB to report no sessions on the host; after `drainTimeout` it asks a person rather
 * than waiting for ever or cutting connections: `approve` goes on, `abort` fails the saga.
 */
async function drain(p: SagaPlan, c: SagaContext, stepNo: number): Promise<void> {
  const s = { service: p.service, host: p.host };
  await step(quick, `drain ${p.host} on the load balancer`).drainHost(s);
  const r = await step(
    { ...quick, startToCloseTimeout: p.drainTimeout + 60_000 },
    `confirm ${p.host} drained (sessions 0, up to ${formatDuration(p.drainTimeout)})`,
  ).confirmHostDrained({ ...s, timeoutMs: p.drainTimeout });
  if (r.drained) return;
  c.run.host(p.host, { state: 'drain-stuck', error: `${r.sessions} sessions after ${formatDuration(p.drainTimeout)}` });
  const ask = `${p.host}: ${r.sessions} sessions still open after ${formatDuration(p.drainTimeout)}; approve to go on, abort to stop`;
  c.run.note(ask);
  c.show();
  await c.tell(`drain-stuck-${p.host}`, 'warning', `Deploy of ${p.service}: drain of ${p.host} not confirmed`, ask);
  const what = `going on with ${p.host}'s ${r.sessions} open sessions`;
  const own = wf.patched(DRAIN_APPROVAL_OWN);
  if (own) await c.controls.approvalTurn();
  c.run.awaitApproval(what);
  c.show();
  const wait = c.controls.takeApproval(
    own ? `drain-${p.host}` : stepNo,
    undefined,
    own ? c.approvalRule : undefined,
    approvalWaitText(what, wf.workflowInfo().workflowId),
  );
  // Under a rule of several people (or forbidding the starter): who has approved so far, in the status.
  const progress = c.controls.approvalProgress();
  if (progress) c.run.status.approvals = progress;
  c.show();
  const answer = await wait;
  delete c.run.status.approvals;
  c.run.awaitApproval(undefined);
  if (answer === 'aborted')
    throw wf.ApplicationFailure.nonRetryable(
      `${p.host}: drain not confirmed (${r.sessions} sessions) and aborted`,
      'DrainAborted',
    );
  c.run.note(`${p.host}: going on with ${r.sessions} sessions open, approved`);
  c.run.host(p.host, { state: 'draining', error: undefined });
}

/**
 * A release built by a run whose host failed any other way than its health check (a migration, a
 * drain answered with abort, a restart, a cancellation) is marked failed as well: never a rollback
 * target, and the first thing the next prune removes. Runs recorded before this never mark it.
 */
const MARK_UNSWITCHED_FAILED = 'opsflow-deploy-mark-built-release-failed';
/** A flapping release stops the fleet whatever the budget: runs recorded before this never judge it. */
export const FLAP_STOPS_FLEET = 'opsflow-deploy-flap-stops-fleet';

/** The step a host is at, named in its failure ("h1 (health check): …"). */
type Step =
  | 'read releases'
  | 'build'
  | 'migrate'
  | 'drain'
  | 'switch'
  | 'restart'
  | 'nginx reload'
  | 'health check'
  | 'mark'
  | 'ready';

/** Switches `current`, restarts, reloads, checks health; `at` hears each step as it begins. */
async function switchTo(
  p: SagaPlan,
  release: string,
  label: string,
  at: (step: Step) => void = () => {},
): Promise<{ healthy: boolean; last: string; attempts: number; flapping?: boolean; reason?: string }> {
  const s = { service: p.service, host: p.host };
  at('switch');
  await step(quick, `${label}: switch current on ${p.host} to ${release}`).switchHostCurrent({ ...s, release });
  at('restart');
  await step(long, `${label}: restart units on ${p.host}`).restartHostUnits(s);
  at('nginx reload');
  await step(quick, `${label}: nginx -t and reload on ${p.host}`).reloadHostNginx(s);
  at('health check');
  const h = await step(
    healthOptions(p.health),
    `${label}: health check ${p.host} (${p.health.attempts} × ${formatDuration(p.health.interval)})`,
  ).checkHostHealth({
    ...s,
    attempts: p.health.attempts,
    intervalMs: p.health.interval,
  });
  return h;
}

/** Why a host is not healthy: the activity's words, or (histories recorded before them) the old phrase. */
function unhealthy(p: SagaPlan, h: { attempts: number; last: string; reason?: string }): string {
  return `${p.host}: ${h.reason ?? `health check failed after ${p.health.attempts} attempts (${h.last})`}`;
}

/**
 * The saga of one host. Never throws for the host's own failure (the fleet counts it); a
 * cancellation compensates and is rethrown, so a cancelled deploy leaves every host serving.
 */
export async function hostSaga(p: SagaPlan, c: SagaContext, stepNo: number): Promise<SagaOutcome> {
  const s = { service: p.service, host: p.host };
  const compensations: { what: string; undo: () => Promise<void> }[] = [];
  let at: Step = 'read releases';
  const before = await step(quick, `read releases on ${p.host}`).readHostReleases(s);
  c.run.host(p.host, { previous: before.current, release: p.release });
  if (before.current === p.release) {
    c.run.host(p.host, { state: 'done' });
    c.run.note(`${p.host}: already on ${p.release}`);
    return { ok: true };
  }
  let built = false;
  let markedFailed = false;
  let flapping = false;
  try {
    if (p.build) {
      at = 'build';
      c.run.host(p.host, { state: 'building' });
      c.show();
      await step(long, `build release ${p.release} on ${p.host}`).buildHostRelease({
        ...s,
        release: p.release,
        commit: p.build.commit,
      });
      built = true;
    }
    at = 'migrate';
    if (p.beforeSwitch) await p.beforeSwitch();

    at = 'drain';
    c.run.host(p.host, { state: 'draining' });
    c.show();
    compensations.push({
      what: 'ready on the load balancer',
      undo: async () => void (await step(quick, `compensate: ready ${p.host} on the load balancer`).readyHost(s)),
    });
    await drain(p, c, stepNo);

    c.run.host(p.host, { state: 'switching' });
    c.show();
    const previous = before.current;
    compensations.push({
      what: `current back to ${previous ?? '(none)'}`,
      undo: async () => {
        if (previous === undefined) return;
        const back = await switchTo(p, previous, 'compensate');
        if (!back.healthy)
          throw wf.ApplicationFailure.nonRetryable(
            `${p.host} is not healthy on ${previous} either (${back.reason ?? back.last})`,
            'CompensationUnhealthy',
          );
      },
    });
    const h = await switchTo(p, p.release, p.build ? 'deploy' : 'rollback', (next) => (at = next));
    c.run.host(p.host, { state: 'checking' });
    if (!h.healthy) {
      flapping = h.flapping === true;
      if (p.build) {
        at = 'mark';
        await step(quick, `mark ${p.release} failed on ${p.host}`).markHostRelease({
          ...s,
          release: p.release,
          state: 'failed',
        });
        markedFailed = true;
      }
      at = 'health check';
      throw wf.ApplicationFailure.nonRetryable(
        unhealthy(p, h),
        h.flapping ? 'HealthCheckFlapping' : 'HealthCheckFailed',
      );
    }
    at = 'mark';
    if (p.build)
      await step(quick, `mark ${p.release} complete on ${p.host}`).markHostRelease({
        ...s,
        release: p.release,
        state: 'complete',
      });
    at = 'ready';
    await step(quick, `ready ${p.host} on the load balancer`).readyHost(s);
    c.run.host(p.host, { state: 'done', error: undefined, step: undefined });
    c.run.note(`${p.host}: on ${p.release}`);
    c.show();
    return { ok: true };
  } catch (err) {
    const error = failureMessage(err);
    c.run.host(p.host, { state: 'compensating', error, step: at });
    c.run.note(`${p.host} (${at}): ${error}; compensating`);
    c.show();
    // Compensation must finish even when the run is being cancelled: that is what frees the host.
    const compensated = await wf.CancellationScope.nonCancellable(async () => {
      if (built && !markedFailed && wf.patched(MARK_UNSWITCHED_FAILED)) {
        try {
          await step(quick, `mark ${p.release} failed on ${p.host}`).markHostRelease({
            ...s,
            release: p.release,
            state: 'failed',
          });
        } catch (e) {
          c.run.note(`${p.host}: could not mark ${p.release} failed: ${failureMessage(e)}`);
        }
      }
      return compensate(p, c, compensations);
    });
    c.run.host(p.host, {
      state: compensated ? 'rolled-back' : 'compensation-failed',
      release: compensated ? before.current : p.release,
    });
    c.show();
    if (wf.isCancellation(err)) throw err;
    return { ok: false, error, flapping };
  }
}

async function compensate(
  p: SagaPlan,
  c: SagaContext,
  compensations: { what: string; undo: () => Promise<void> }[],
): Promise<boolean> {
  let ok = true;
  for (const comp of [...compensations].reverse()) {
    try {
      await comp.undo();
      c.run.note(`${p.host}: compensated: ${comp.what}`);
    } catch (e) {
      ok = false;
      c.run.note(`${p.host}: compensation "${comp.what}" failed: ${failureMessage(e)}`);
    }
  }
  return ok;
}

export const pruneStep = (host: string) => step(quick, `prune old releases on ${host}`);
export const resolveStep = (ref: string) => step({ ...long, startToCloseTimeout: '10m' }, `resolve ${ref} to a commit`);
export const migrateStep = (host: string) => step(long, `run migrations (once per deploy) on ${host}`);
export const targetStep = (host: string) => step(quick, `find the rollback target on ${host}`);
