// The P3 business-hours digest: a short workflow of its own, sharing the incident config and the
// incident's notification policy.
import * as wf from '@temporalio/workflow';
import { incidentDigestInput, type IncidentDigestInput } from '../../domain/incident/incident';
import { onCallAt } from '../../domain/incident/oncall';
import { resolveRecipients } from '../../domain/incident/escalation';
import { notifyAll } from '../common/notify';
import { parseInput } from '../input';
import { RunEnding } from '../common/ending';
import { acts } from './activities';

export interface IncidentDigestResult {
  incidents: string[];
  notified: string[];
  failed: string[];
  /** Why each failed notifier failed, in words (HTTP status and the receiver's reason). */
  failures?: Record<string, string>;
}

/**
 * runbooks §6 P3: "record for business hours". Sends one message listing the P3 incidents not yet
 * reported, then marks them; run it from a schedule in business hours (docs/incidents.md).
 * Marking happens only after every message went out, so a failed run reports them again next time.
 */
export async function incidentDigestWorkflow(rawInput: IncidentDigestInput = {}): Promise<IncidentDigestResult> {
  return new RunEnding().run(() => incidentDigest(rawInput));
}

async function incidentDigest(rawInput: IncidentDigestInput): Promise<IncidentDigestResult> {
  const input = parseInput(incidentDigestInput, rawInput, 'incidentDigestWorkflow');
  const plan = await acts.planIncident.executeWithOptions(
    { startToCloseTimeout: '30s', summary: 'read incident config' },
    [],
  );
  const pending = await acts.pendingDigestIncidents.executeWithOptions(
    { startToCloseTimeout: '30s', summary: 'P3 incidents not yet in a digest' },
    [{ limit: input.limit }],
  );
  wf.setCurrentDetails(`${pending.length} P3 incident(s) for the digest`);
  if (pending.length === 0) return { incidents: [], notified: [], failed: [] };
  const notifiers = resolveRecipients(
    input.notify ?? plan.digestRecipients,
    plan.contacts,
    onCallAt(plan.rota, new Date()),
  );
  const text = pending
    .map(
      (p) =>
        `• ${p.id} ${p.title} (${p.type}), opened ${p.openedAt}, ${p.state}${p.resolvedAt ? ` at ${p.resolvedAt}` : ''}`,
    )
    .join('\n');
  const notified: string[] = [];
  const failed: string[] = [];
  const failures: Record<string, string> = {};
  await notifyAll(notifiers, 'digest', {
    message: () => ({
      severity: 'info',
      title: `P3 digest: ${pending.length} minor incident(s)`,
      text,
      details: { incidents: pending.map((p) => p.id) },
    }),
    summary: (m) => `digest to ${m.notifier}`,
    onSent: (m) => notified.push(m.notifier),
    onFailed: (m, failure) => {
      failed.push(m.notifier);
      failures[m.notifier] = failure;
    },
  });
  if (failed.length === 0 || notified.length > 0) {
    await acts.markDigestSent.executeWithOptions(
      { startToCloseTimeout: '30s', summary: `mark ${pending.length} incident(s) reported` },
      [{ ids: pending.map((p) => p.id) }],
    );
  }
  if (failed.length)
    wf.setCurrentDetails(
      `digest of ${pending.length} incident(s): not sent to ${failed.map((n) => `${n} (${failures[n]})`).join(', ')}`,
    );
  return { incidents: pending.map((p) => p.id), notified, failed, ...(failed.length ? { failures } : {}) };
}
