import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities';
import { incidentDigestInput, type IncidentDigestInput } from '../domain/incident';
import { onCallAt } from '../domain/oncall';
import { resolveRecipients } from '../domain/escalation';
import { notificationKey } from '../domain/notification';
import { parseInput } from './input';

const acts = wf.proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 5, initialInterval: '1s' } });
const notifyOptions: wf.ActivityOptions = { startToCloseTimeout: '30s', retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' } };

export interface IncidentDigestResult {
  incidents: string[];
  notified: string[];
  failed: string[];
}

/**
 * SPEC §6 P3: "record for business hours". Sends one message listing the P3 incidents not yet
 * reported, then marks them; run it from a schedule in business hours (docs/incidents.md).
 * Marking happens only after every message went out, so a failed run reports them again next time.
 */
export async function incidentDigestWorkflow(rawInput: IncidentDigestInput = {}): Promise<IncidentDigestResult> {
  const input = parseInput(incidentDigestInput, rawInput, 'incidentDigestWorkflow');
  const info = wf.workflowInfo();
  const plan = await acts.planIncident.executeWithOptions({ startToCloseTimeout: '30s', summary: 'read incident config' }, []);
  const pending = await acts.pendingDigestIncidents.executeWithOptions({ startToCloseTimeout: '30s', summary: 'P3 incidents not yet in a digest' }, [
    { limit: input.limit },
  ]);
  wf.setCurrentDetails(`${pending.length} P3 incident(s) for the digest`);
  if (pending.length === 0) return { incidents: [], notified: [], failed: [] };
  const notifiers = resolveRecipients(input.notify ?? plan.digestRecipients, plan.contacts, onCallAt(plan.rota, new Date()));
  const text = pending
    .map((p) => `• ${p.id} ${p.title} (${p.type}), opened ${p.openedAt}, ${p.state}${p.resolvedAt ? ` at ${p.resolvedAt}` : ''}`)
    .join('\n');
  const notified: string[] = [];
  const failed: string[] = [];
  await Promise.all(
    notifiers.map(async (name) => {
      try {
        await acts.notify.executeWithOptions({ ...notifyOptions, summary: `digest to ${name}` }, [
          {
            notifier: name,
            idempotencyKey: notificationKey(info.workflowId, info.runId, 'digest', name),
            severity: 'info',
            title: `P3 digest: ${pending.length} minor incident(s)`,
            text,
            details: { incidents: pending.map((p) => p.id) },
          },
        ]);
        notified.push(name);
      } catch {
        failed.push(name);
      }
    }),
  );
  if (failed.length === 0 || notified.length > 0) {
    await acts.markDigestSent.executeWithOptions({ startToCloseTimeout: '30s', summary: `mark ${pending.length} incident(s) reported` }, [
      { ids: pending.map((p) => p.id) },
    ]);
  }
  return { incidents: pending.map((p) => p.id), notified, failed };
}
