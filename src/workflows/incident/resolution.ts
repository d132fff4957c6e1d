// The end of an incident (runbooks §6 "review"): PagerDuty resolved, everyone told who resolved it and
// how long it took, and the postmortem written onto the record.
import { renderPostmortem, slaVerdict } from '../../domain/incident/postmortem';
import { headline, notifyAll } from './notify';
import type { IncidentRun } from './run';

export async function closeIncident(run: IncidentRun): Promise<void> {
  const { state, plan } = run;
  const incident = state.record;
  if (state.pagerDutyTriggered.length)
    await notifyAll(run, 'resolved', [...state.pagerDutyTriggered], headline(run), 'resolved', 'resolve');
  const told = state.notified.filter((n) => plan.notifierTypes[n] !== 'pagerduty');
  if (told.length) {
    const v = slaVerdict(incident);
    await notifyAll(
      run,
      'resolved',
      told,
      `RESOLVED ${headline(run)}`,
      `resolved${state.resolvedBy ? ` by ${state.resolvedBy}` : ''} after ${v.timeToResolveMinutes} min` +
        `${incident.owner ? `, owner ${incident.owner}` : ''}; ` +
        (state.storeProblem
          ? `the postmortem is in the incident's status (opsflow status ${run.workflowId}): ${state.storeProblem}`
          : `the postmortem is stored with the incident (opsflow incident show ${incident.id})`),
      undefined,
      'info',
    );
  }
  incident.postmortem = renderPostmortem(incident);
  state.add('resolved', 'postmortem written');
}
