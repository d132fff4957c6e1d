// The first minutes of an incident (runbooks §6 "detect, confirm"): read the config, classify by its
// rules, find who is on call, plan the remediation runbook.
import { classify } from '../../domain/incident/severity';
import { onCallAt } from '../../domain/incident/oncall';
import { planRunbook } from '../../domain/incident/runbook';
import { withSummary } from '../common/progress';
import { acts, readOptions } from './activities';
import type { IncidentRun } from './run';

export async function triage(run: IncidentRun, openedAt: Date): Promise<void> {
  const { state, input } = run;
  const incident = state.record;
  state.add(
    'opened',
    `opened from ${input.source}${input.fingerprint ? ` (fingerprint ${input.fingerprint})` : ''}: ${input.title}`,
  );
  run.publish();
  const plan = await acts.planIncident.executeWithOptions(
    withSummary(readOptions, 'read incident config: rules, rota, escalation, runbook'),
    [],
  );
  run.plan = plan;
  // Plans recorded before the label table read no label, so their runs classify as they did.
  if (!input.severity) state.reclassify(classify(input, plan.severityRules, plan.severityLabels ?? {}));
  state.add(
    'classified',
    `${incident.severityReason}: ${incident.severity}; respond within ${incident.sla.respondMinutes} min, resolve within ${incident.sla.resolveMinutes} min`,
  );
  const onCall = onCallAt(plan.rota, openedAt);
  state.onCall = onCall;
  state.add('oncall', `on call: ${onCall.oncall ?? 'nobody named'} (${onCall.shift} shift, ${onCall.localTime})`);
  state.steps = planRunbook(incident.severity, incident.type, incident.services, plan.remediation);
  run.searchLive = true;
  run.publish();
}
