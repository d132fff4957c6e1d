// runbooks §6's runbook as the incident workflow's entry: the whole response in one page, each stage
// a named step of this folder.
import * as wf from '@temporalio/workflow';
import { incidentInput, type IncidentInput } from '../../domain/incident/incident';
import { OpsflowState } from '../../domain/search-attributes';
import { parseInput } from '../input';
import { PLAN_BEFORE_SEARCH_ATTRIBUTES, RunEnding } from '../common/ending';
import { installHandlers } from './handlers';
import { IncidentRun } from './run';
import { IncidentState } from './state';
import { incidentResult, type IncidentResult } from './status';
import { INCIDENT_ACTS_BEFORE_STORE, IncidentStore } from './store';
import { triage } from './triage';
import { notifyOpened } from './notify';
import { startClocks } from './escalation';
import { runRunbook } from './remediation';
import { closeIncident } from './resolution';
import { stopChangesInFlight } from './changes';

/**
 * runbooks §6 as a workflow: classify, tell the right people, escalate while nobody acknowledges,
 * run the remediation runbook (destructive steps wait for `approve` unless pre-approved), and on
 * resolution tell everyone, resolve PagerDuty and store a postmortem. Everything lands on the
 * incident's timeline, in the `status` query and in PostgreSQL.
 */
export async function incidentResponseWorkflow(rawInput: IncidentInput): Promise<IncidentResult> {
  const ending = new RunEnding();
  return ending.run(() => incidentResponse(rawInput, ending));
}

async function incidentResponse(rawInput: IncidentInput, ending: RunEnding): Promise<IncidentResult> {
  const input = parseInput(incidentInput, rawInput, 'incidentResponseWorkflow');
  const openedAt = new Date();
  const state = IncidentState.open(input, wf.workflowInfo().workflowId, openedAt);
  // Planning (the incident config) before the first upsert: histories from before keep theirs.
  const run = new IncidentRun(input, state, wf.patched(PLAN_BEFORE_SEARCH_ATTRIBUTES));
  installHandlers(run);
  // A run that ends without a resolution (a failure no retry fixed, a cancellation) says so.
  ending.onEnd(({ kind, message }) => {
    state.ended = { kind, message };
    run.progress.end([{ key: OpsflowState, value: kind }]);
    return `incident ${state.record.id} (${state.record.severity}) ${kind === 'cancelled' ? 'cancelled' : 'failed'}`;
  });
  // Stopping the change and paging first, and without a store if need be: the store only keeps the record.
  const actsFirst = wf.patched(INCIDENT_ACTS_BEFORE_STORE);
  const store = new IncidentStore(run, actsFirst);

  await triage(run, openedAt); // classify, on-call, runbook
  if (actsFirst) {
    // The store is asked beside the response, never before it: the stop and the page wait for nothing.
    store.reserveIdBeside();
    await stopChangesInFlight(run); // a rollout/cutover/deploy of an affected service: abort or pause it
    await notifyOpened(run);
  } else {
    await store.reserveId();
    await stopChangesInFlight(run);
    await notifyOpened(run);
  }
  const clocks = startClocks(run); // resolve SLA, escalation while unacknowledged, PagerDuty acknowledge
  await runRunbook(run); // remediation, destructive steps after approve

  await wf.condition(() => state.resolved);
  await Promise.all(clocks);
  await closeIncident(run); // PagerDuty resolve, message, postmortem
  await store.finish();
  return incidentResult(state);
}
