// What every step of one incident run shares: the parsed input, the run's ids, the state, the
// config's plan once read, and what the UI shows.
import * as wf from '@temporalio/workflow';
import type { ParsedIncidentInput } from '../../domain/incident/incident';
import type { IncidentPlan } from '../../domain/incident/plan';
import { OpsflowService, OpsflowSeverity, OpsflowState } from '../../domain/search-attributes';
import { Progress } from '../common/progress';
import { opsflowCommand, stepApprovalWaitText } from '../../domain/operator-commands';
import type { IncidentState } from './state';

export class IncidentRun {
  readonly workflowId: string;
  readonly runId: string;
  /** Read by the first step; every later step may rely on it. */
  plan!: IncidentPlan;
  /** Upserts wait for the plan (signals' included) where the patch says so; then every change is sent. */
  searchLive: boolean;
  readonly progress = new Progress(() => this.details());
  /** Resolves once the store has answered the id reservation (or there is none); what writes under the id waits for it. */
  storeSettled: () => Promise<void> = async () => undefined;
  /** True once it is settled that nothing is written to a store (none configured, or it refused the record). */
  storeless: () => boolean = () => false;

  constructor(
    readonly input: ParsedIncidentInput,
    readonly state: IncidentState,
    planFirst: boolean,
  ) {
    const info = wf.workflowInfo();
    this.workflowId = info.workflowId;
    this.runId = info.runId;
    this.searchLive = !planFirst;
  }

  /** After a change of severity, state or owner: search attributes (once live) and details. */
  publish(): void {
    const incident = this.state.record;
    this.progress.update(
      this.searchLive
        ? [
            { key: OpsflowSeverity, value: incident.severity },
            { key: OpsflowState, value: incident.state },
            { key: OpsflowService, value: incident.services[0] ?? 'none' },
          ]
        : [],
    );
  }

  private details(): string {
    const { record: r, pendingApproval, ended } = this.state;
    return (
      `**${r.id}** ${r.severity} ${r.state}${r.owner ? `, owner ${r.owner}` : ''}\n\n` +
      `${r.title}\n\nrespond by ${r.sla.respondBy}, resolve by ${r.sla.resolveBy}` +
      (pendingApproval
        ? `\n\n**${stepApprovalWaitText(`runbook step ${pendingApproval}`, this.workflowId, pendingApproval)}**`
        : '') +
      (!ended && !this.state.resolved
        ? `\n\n${r.acknowledgedAt ? '' : `acknowledge: \`${opsflowCommand('acknowledge', this.workflowId)}\` · `}resolve: \`${opsflowCommand('resolve', this.workflowId)}\``
        : '') +
      (ended ? `\n\n**run ${ended.kind}: ${ended.message}**` : '')
    );
  }
}

/**
 * A task that runs beside the main flow and is awaited later. Its rejection is marked handled
 * here: on a cancellation every such task rejects at once, and an unhandled rejection would fail
 * the workflow task over and over instead of letting the run end cancelled.
 */
export function inBackground<T>(task: Promise<T>): Promise<T> {
  task.catch(() => undefined);
  return task;
}
