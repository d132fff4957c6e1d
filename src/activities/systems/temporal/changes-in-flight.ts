import { Context } from '@temporalio/activity';
import type { OpsflowConfig } from '../../../config/schema';
import { defaultChangeActions, type ChangeAction } from '../../../config/sections/incident';
import type { Severity } from '../../../domain/incident/severity';

export interface ChangeInFlight {
  workflowId: string;
  service: string;
  /** `rollout`, `cutover`, `deploy`: the id's prefix. */
  kind: string;
}

export interface ChangesInFlight {
  action: ChangeAction;
  changes: ChangeInFlight[];
}

/**
 * The changes of the incident's services that are running now, by their well-known ids, and what
 * the config says an incident of this severity does to them. Only reads (Temporal describe).
 */
export function changeActivities(config: OpsflowConfig) {
  return {
    async findChangesInFlight(req: { services: string[]; severity: Severity }): Promise<ChangesInFlight> {
      const cfg = config.incident.changesInFlight;
      const action = cfg.actions[req.severity] ?? defaultChangeActions[req.severity];
      const client = Context.current().client;
      const candidates = req.services.flatMap((service) =>
        cfg.prefixes.map((kind) => ({ workflowId: `${kind}-${service}`, service, kind })),
      );
      const running = await Promise.all(
        candidates.map(async (c) => {
          try {
            const d = await client.workflow.getHandle(c.workflowId).describe();
            return d.status.name === 'RUNNING' ? c : undefined;
          } catch (err) {
            if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
            throw err;
          }
        }),
      );
      return { action, changes: running.filter((c): c is ChangeInFlight => c !== undefined) };
    },
  };
}
