// Incidents stop the change that caused them: a rollout, cutover or deploy of an affected service
// still running gets the configured signal (P0/P1 abort → it rolls back, P2 pause), and both
// timelines say why. Added later, so gated: histories from before replay without it.
import * as wf from '@temporalio/workflow';
import { abortSignal, pauseSignal } from '../common/operator-controls';
import { changeSignalInput } from '../../domain/incident/change-signal';
import { failureMessage } from '../common/failure';
import { withSummary } from '../common/progress';
import { acts, readOptions } from './activities';
import type { IncidentRun } from './run';

const INCIDENT_STOPS_CHANGES = 'opsflow-incident-stops-changes';

const verb = { abort: 'rolled back', pause: 'paused' } as const;

export async function stopChangesInFlight(run: IncidentRun): Promise<void> {
  if (!wf.patched(INCIDENT_STOPS_CHANGES)) return;
  const { state } = run;
  const incident = state.record;
  if (incident.services.length === 0) return;
  const found = await acts.findChangesInFlight.executeWithOptions(
    withSummary(readOptions, `changes in flight of ${incident.services.join(', ')}`),
    [{ services: incident.services, severity: incident.severity }],
  );
  if (found.changes.length === 0) {
    state.add(
      'change',
      `no rollout, cutover or deploy of ${incident.services.join(', ')} running: nothing to stop`,
      'skipped',
    );
  } else if (found.action === 'none') {
    state.add(
      'change',
      `${found.changes.map((c) => c.workflowId).join(', ')} running; a ${incident.severity} incident leaves it alone (incident.changesInFlight)`,
      'skipped',
    );
  } else {
    const action = found.action;
    await Promise.all(
      found.changes.map(async (c) => {
        const what = `${c.kind} of ${c.service} (${c.workflowId})`;
        try {
          await wf.getExternalWorkflowHandle(c.workflowId).signal(
            action === 'abort' ? abortSignal : pauseSignal,
            changeSignalInput(c.kind, action, {
              by: `incident ${incident.id}`,
              reason: `${incident.severity} incident ${incident.id}: ${incident.title}`,
            }),
          );
          state.add('change', `${what} ${verb[action]} by incident ${incident.id}`, 'ok');
        } catch (err) {
          // It ended between the look and the signal: nothing left to stop.
          state.add('change', `${what} could not be ${verb[action]}: ${failureMessage(err)}`, 'failed');
        }
      }),
    );
  }
  run.publish();
}
