// Why: one host's deploy (or rollback) as a saga in the history: each step a named activity, and
// for each step that changed the host a compensation, run in reverse when a later step fails or
// the run is cancelled, so a host is never left drained or on a release that failed its check.
import * as wf from '@temporalio/workflow';
import { formatDuration } from '../../domain/duration';
import { failureMessage } from '../common/failure';
import { healthOptions, long, quick, step } from './activities';
import { drain } from './drain';
import type { SagaContext, SagaOutcome, SagaPlan } from './saga-plan';

/**
 * A release built by a run whose host failed any other way than its health check (a migration, a
 * drain answered with abort, a restart, a cancellation) is marked failed as well: never a rollback
 * target, and the first thing the next prune removes. Runs recorded before this never mark it.
 */
const MARK_UNSWITCHED_FAILED = 'opsflow-deploy-mark-built-release-failed';

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
  plan: SagaPlan,
  release: string,
  label: string,
  at: (step: Step) => void = () => {},
): Promise<{ healthy: boolean; last: string; attempts: number; flapping?: boolean; reason?: string }> {
  const target = { service: plan.service, host: plan.host };
  at('switch');
  await step(quick, `${label}: switch current on ${plan.host} to ${release}`).switchHostCurrent({ ...target, release });
  at('restart');
  await step(long, `${label}: restart units on ${plan.host}`).restartHostUnits(target);
  at('nginx reload');
  await step(quick, `${label}: nginx -t and reload on ${plan.host}`).reloadHostNginx(target);
  at('health check');
  const check = await step(
    healthOptions(plan.health),
    `${label}: health check ${plan.host} (${plan.health.attempts} × ${formatDuration(plan.health.interval)})`,
  ).checkHostHealth({
    ...target,
    attempts: plan.health.attempts,
    intervalMs: plan.health.interval,
  });
  return check;
}

/** Why a host is not healthy: the activity's words, or (histories recorded before them) the old phrase. */
function unhealthy(plan: SagaPlan, check: { attempts: number; last: string; reason?: string }): string {
  return `${plan.host}: ${check.reason ?? `health check failed after ${plan.health.attempts} attempts (${check.last})`}`;
}

/**
 * The saga of one host. Never throws for the host's own failure (the fleet counts it); a
 * cancellation compensates and is rethrown, so a cancelled deploy leaves every host serving.
 */
export async function hostSaga(plan: SagaPlan, ctx: SagaContext, stepNo: number): Promise<SagaOutcome> {
  const target = { service: plan.service, host: plan.host };
  const compensations: { what: string; undo: () => Promise<void> }[] = [];
  let at: Step = 'read releases';
  const before = await step(quick, `read releases on ${plan.host}`).readHostReleases(target);
  ctx.run.host(plan.host, { previous: before.current, release: plan.release });
  if (before.current === plan.release) {
    ctx.run.host(plan.host, { state: 'done' });
    ctx.run.note(`${plan.host}: already on ${plan.release}`);
    return { ok: true };
  }
  let built = false;
  let markedFailed = false;
  let flapping = false;
  try {
    if (plan.build) {
      at = 'build';
      ctx.run.host(plan.host, { state: 'building' });
      ctx.show();
      await step(long, `build release ${plan.release} on ${plan.host}`).buildHostRelease({
        ...target,
        release: plan.release,
        commit: plan.build.commit,
      });
      built = true;
    }
    at = 'migrate';
    if (plan.beforeSwitch) await plan.beforeSwitch();

    at = 'drain';
    ctx.run.host(plan.host, { state: 'draining' });
    ctx.show();
    compensations.push({
      what: 'ready on the load balancer',
      undo: async () =>
        void (await step(quick, `compensate: ready ${plan.host} on the load balancer`).readyHost(target)),
    });
    await drain(plan, ctx, stepNo);

    ctx.run.host(plan.host, { state: 'switching' });
    ctx.show();
    const previous = before.current;
    compensations.push({
      what: `current back to ${previous ?? '(none)'}`,
      undo: async () => {
        if (previous === undefined) return;
        const back = await switchTo(plan, previous, 'compensate');
        if (!back.healthy)
          throw wf.ApplicationFailure.nonRetryable(
            `${plan.host} is not healthy on ${previous} either (${back.reason ?? back.last})`,
            'CompensationUnhealthy',
          );
      },
    });
    const check = await switchTo(plan, plan.release, plan.build ? 'deploy' : 'rollback', (next) => (at = next));
    ctx.run.host(plan.host, { state: 'checking' });
    if (!check.healthy) {
      flapping = check.flapping === true;
      if (plan.build) {
        at = 'mark';
        await step(quick, `mark ${plan.release} failed on ${plan.host}`).markHostRelease({
          ...target,
          release: plan.release,
          state: 'failed',
        });
        markedFailed = true;
      }
      at = 'health check';
      throw wf.ApplicationFailure.nonRetryable(
        unhealthy(plan, check),
        check.flapping ? 'HealthCheckFlapping' : 'HealthCheckFailed',
      );
    }
    at = 'mark';
    if (plan.build)
      await step(quick, `mark ${plan.release} complete on ${plan.host}`).markHostRelease({
        ...target,
        release: plan.release,
        state: 'complete',
      });
    at = 'ready';
    await step(quick, `ready ${plan.host} on the load balancer`).readyHost(target);
    ctx.run.host(plan.host, { state: 'done', error: undefined, step: undefined });
    ctx.run.note(`${plan.host}: on ${plan.release}`);
    ctx.show();
    return { ok: true };
  } catch (err) {
    const error = failureMessage(err);
    ctx.run.host(plan.host, { state: 'compensating', error, step: at });
    ctx.run.note(`${plan.host} (${at}): ${error}; compensating`);
    ctx.show();
    // Compensation must finish even when the run is being cancelled: that is what frees the host.
    const compensated = await wf.CancellationScope.nonCancellable(async () => {
      if (built && !markedFailed && wf.patched(MARK_UNSWITCHED_FAILED)) {
        try {
          await step(quick, `mark ${plan.release} failed on ${plan.host}`).markHostRelease({
            ...target,
            release: plan.release,
            state: 'failed',
          });
        } catch (e) {
          ctx.run.note(`${plan.host}: could not mark ${plan.release} failed: ${failureMessage(e)}`);
        }
      }
      return compensate(plan, ctx, compensations);
    });
    ctx.run.host(plan.host, {
      state: compensated ? 'rolled-back' : 'compensation-failed',
      release: compensated ? before.current : plan.release,
    });
    ctx.show();
    if (wf.isCancellation(err)) throw err;
    return { ok: false, error, flapping };
  }
}

async function compensate(
  plan: SagaPlan,
  ctx: SagaContext,
  compensations: { what: string; undo: () => Promise<void> }[],
): Promise<boolean> {
  let ok = true;
  for (const comp of [...compensations].reverse()) {
    try {
      await comp.undo();
      ctx.run.note(`${plan.host}: compensated: ${comp.what}`);
    } catch (e) {
      ok = false;
      ctx.run.note(`${plan.host}: compensation "${comp.what}" failed: ${failureMessage(e)}`);
    }
  }
  return ok;
}
