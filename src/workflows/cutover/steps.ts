// Why: the cutover's named steps (snapshot, record priors, move, restore, notify) and the state
// changes they share, so the workflow entry reads as runbooks §3's runbook.
import * as wf from '@temporalio/workflow';
import type { NotificationSeverity } from '../../domain/notification';
import { notifyOnRecord } from '../common/notify';
import { cutoverWorkflowId } from '../../domain/cutover/input';
import { OpsflowService, OpsflowState, OpsflowStep } from '../../domain/search-attributes';
import { failureMessage } from '../common/failure';
import { Stop } from '../common/gate-window';
import { withSummary, type Progress } from '../common/progress';
import { acts, bulkOptions, restoreOptions } from './activities';
import type { CutoverRun } from './state';
import type { BatchState, CutoverState } from './status';
import type { CutoverPlan } from '../../activities/cutover/plan';

export interface Cutover {
  run: CutoverRun;
  progress: Progress;
  plan?: CutoverPlan;
}

export function setState({ run, progress }: Cutover, state: CutoverState): void {
  run.enter(state);
  progress.update([{ key: OpsflowState, value: state }]);
}

export function setBatch({ run, progress }: Cutover, i: number, state: BatchState): void {
  run.setBatch(i, state);
  progress.update([{ key: OpsflowStep, value: run.input.batches[i].name }]);
}

export function showService({ run }: Cutover): void {
  wf.upsertSearchAttributes([{ key: OpsflowService, value: run.input.service }]);
}

/** One cutover per service: Temporal refuses a second start with the same id. */
export function requireServiceWorkflowId({ run }: Cutover): void {
  const id = wf.workflowInfo().workflowId;
  if (id !== cutoverWorkflowId(run.input.service))
    throw wf.ApplicationFailure.nonRetryable(
      `a cutover of ${run.input.service} must run as workflow id ${cutoverWorkflowId(run.input.service)} (got ${id})`,
      'WrongWorkflowId',
    );
}

/**
 * Tells each notifier; a lost message is on the record, never a stop. Not `async`: the sending's
 * own promise is returned, as deep as the loop it replaced.
 */
export function notify(
  cutover: Cutover,
  event: string,
  severity: NotificationSeverity,
  title: string,
  text: string,
  details: Record<string, unknown>,
  to = cutover.run.input.notify,
): Promise<void> {
  const { run } = cutover;
  return notifyOnRecord(
    to,
    event,
    { severity, title, text, details: { service: run.input.service, ...details } },
    (t) => run.decide(t),
  );
}

/** " (e.g. 17, 42)": users a read-back found without their route, as the router named them. */
const forExample = (missed: string[] | undefined) => (missed?.length ? ` (e.g. ${missed.join(', ')})` : '');

const ref = (cutover: Cutover, i: number) => ({
  runKey: cutover.run.runKey,
  service: cutover.run.input.service,
  router: cutover.run.input.router,
  batch: i,
});

/** Lists the cohort into the store once (a retried or resumed run gets the stored size back). */
export async function snapshot(cutover: Cutover, i: number): Promise<void> {
  const { run } = cutover;
  const b = run.input.batches[i];
  setBatch(cutover, i, 'listing');
  let listing;
  try {
    listing = await acts.cutoverSnapshot.executeWithOptions(
      withSummary(bulkOptions, `${run.label(i)}: snapshot ${run.status.batches[i].cohort} from ${run.input.directory}`),
      [{ runKey: run.runKey, directory: run.input.directory, batch: i, cohort: b.cohort }],
    );
  } catch (err) {
    throw new Stop(
      'listing',
      `listing ${run.label(i)} from ${run.input.directory} failed before any user of it was moved: ${failureMessage(err)}`,
    );
  }
  Object.assign(run.status.batches[i], { members: listing.members, listed: listing.listed });
  run.decide(
    `${run.label(i)}: ${listing.members} members${listing.listed > listing.members ? ` (${listing.listed - listing.members} listed were moved by an earlier batch)` : ''}${listing.alreadyTaken ? ', snapshot taken before' : ''}`,
  );
}

/**
 * A snapshot with no members: nothing to route, restore or watch (its samples would only be
 * inconclusive and hold the batch for a person), so the batch is recorded as skipped and the plan
 * goes on to the next batch at that one's own start time.
 */
export function skipEmpty(cutover: Cutover, i: number): void {
  const { run } = cutover;
  setBatch(cutover, i, 'skipped');
  run.status.batches[i].note = '0 members, nothing to move or watch';
  run.decide(`${run.label(i)}: 0 members, nothing to move or watch; skipped, the plan goes on to the next batch`);
  cutover.progress.show();
}

/** Records every member's prior route, then routes every member to the new system, read back. */
export async function move(cutover: Cutover, i: number): Promise<void> {
  const { run } = cutover;
  const b = run.status.batches[i];
  setBatch(cutover, i, 'routing');
  setState(cutover, 'moving');
  try {
    await acts.cutoverRecordPriors.executeWithOptions(
      withSummary(bulkOptions, `${run.label(i)}: record ${b.members} prior routes`),
      [ref(cutover, i)],
    );
  } catch (err) {
    throw new Stop(
      'move',
      `recording prior routes of ${run.label(i)} failed before any user of it was moved: ${failureMessage(err)}`,
      undefined,
      { nothingMoved: true },
    );
  }
  b.moved = 0; // from here on, a stop restores
  let routes;
  try {
    routes = await acts.cutoverMove.executeWithOptions(
      withSummary(bulkOptions, `${run.label(i)}: route ${b.members} users to the new system, read back`),
      [ref(cutover, i)],
    );
  } catch (err) {
    b.moved = b.members;
    throw new Stop('move', `routing ${run.label(i)} failed: ${failureMessage(err)}`);
  }
  b.moved = routes.verified;
  if (routes.verified !== b.members)
    throw new Stop(
      'move',
      `${run.label(i)}: ${routes.verified} of ${b.members} users read back on the new system${forExample(routes.missed)}`,
    );
  const sample = await acts.cutoverSampleRoutes.executeWithOptions(
    withSummary(bulkOptions, `${run.label(i)}: read back a sample`),
    [{ ...ref(cutover, i), expect: 'new', sample: 1_000 }],
  );
  if (sample.matching !== sample.sampled)
    throw new Stop(
      'move',
      `${run.label(i)}: ${sample.sampled - sample.matching} of ${sample.sampled} sampled users do not read back on the new system (e.g. ${sample.mismatches.join(', ')})`,
    );
  run.decide(
    sample.unreadable
      ? `${run.label(i)}: ${routes.verified} users on the new system as the router answered the writes (the router cannot be read back)`
      : `${run.label(i)}: ${routes.verified} users on the new system, read back (sample ${sample.matching}/${sample.sampled})`,
  );
}

/** Puts back every member's prior route and reads it back; returns the users restored. */
export async function restore(cutover: Cutover, i: number): Promise<number> {
  const { run } = cutover;
  const b = run.status.batches[i];
  setBatch(cutover, i, 'rolling-back');
  const routes = await acts.cutoverRestore.executeWithOptions(
    withSummary(restoreOptions, `${run.label(i)}: restore ${b.members} prior routes, read back`),
    [ref(cutover, i)],
  );
  b.restored = routes.verified;
  if (routes.verified !== b.members)
    throw wf.ApplicationFailure.nonRetryable(
      `${run.label(i)}: only ${routes.verified} of ${b.members} users read back on their prior route${forExample(routes.missed)}`,
      'RestoreIncomplete',
    );
  b.moved = 0;
  setBatch(cutover, i, 'rolled-back');
  run.decide(`${run.label(i)}: ${routes.verified} users back on their prior route, read back`);
  return routes.verified;
}
