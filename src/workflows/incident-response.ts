import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  actorInput,
  alertInput,
  approveInput,
  incidentId,
  incidentInput,
  noteInput,
  type ActorInput,
  type AlertInput,
  type ApproveInput,
  type IncidentInput,
  type IncidentRecord,
  type NoteInput,
  type Outcome,
  type TimelineEntry,
  type TimelineKind,
} from '../domain/incident';
import type { IncidentPlan } from '../domain/incident-plan';
import { classify, notificationSeverity, slaClocks } from '../domain/severity';
import { onCallAt, type OnCall } from '../domain/oncall';
import { nextEscalation, resolveRecipients } from '../domain/escalation';
import { planRunbook, type RunbookStep } from '../domain/incident-runbook';
import { renderPostmortem, slaVerdict, type SlaVerdict } from '../domain/postmortem';
import { notificationKey, type Notification } from '../domain/notification';
import { OpsflowService, OpsflowSeverity, OpsflowState } from '../domain/search-attributes';
import { parseInput } from './input';

const readOptions: wf.ActivityOptions = { startToCloseTimeout: '30s', retry: { maximumAttempts: 5, initialInterval: '1s' } };
/** A message is worth many tries: its key makes a repeat harmless. */
const notifyOptions: wf.ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
};
/** The record must land eventually, however long PostgreSQL is away: retried without limit. */
const storeOptions: wf.ActivityOptions = { startToCloseTimeout: '30s', retry: { initialInterval: '1s', maximumInterval: '1m' } };
const acts = wf.proxyActivities<Activities>(readOptions);
const withSummary = (o: wf.ActivityOptions, summary: string): wf.ActivityOptions => ({ ...o, summary });

export const acknowledgeSignal = wf.defineSignal<[ActorInput?]>('acknowledge');
export const resolveSignal = wf.defineSignal<[ActorInput?]>('resolve');
export const escalateSignal = wf.defineSignal<[ActorInput?]>('escalate');
export const noteSignal = wf.defineSignal<[NoteInput]>('note');
export const approveSignal = wf.defineSignal<[ApproveInput?]>('approve');
/** The alert receiver's signal-with-start: the same alert firing again joins this incident. */
export const alertSignal = wf.defineSignal<[AlertInput]>('alert');

export interface IncidentStatus extends IncidentRecord {
  onCall?: OnCall;
  slaVerdict: SlaVerdict;
  respondSlaMissed: boolean;
  resolveSlaMissed: boolean;
  pendingApproval?: string;
  runbook: { id: string; kind: string; needsApproval: boolean; outcome?: Outcome }[];
  notified: string[];
  alertsReceived: number;
}
export const statusQuery = wf.defineQuery<IncidentStatus>('status');

export interface IncidentResult {
  id: string;
  severity: string;
  state: string;
  owner?: string;
  slaVerdict: SlaVerdict;
  timelineEntries: number;
  postmortemStored: boolean;
}

/**
 * SPEC §6 as a workflow: classify, tell the right people, escalate while nobody acknowledges,
 * run the remediation runbook (destructive steps wait for `approve` unless pre-approved), and on
 * resolution tell everyone, resolve PagerDuty and store a postmortem. Everything lands on the
 * incident's timeline, in the `status` query and in PostgreSQL.
 */
export async function incidentResponseWorkflow(rawInput: IncidentInput): Promise<IncidentResult> {
  const input = parseInput(incidentInput, rawInput, 'incidentResponseWorkflow');
  const info = wf.workflowInfo();
  const openedAt = new Date();

  // --- state ---------------------------------------------------------------------------------
  const timeline: TimelineEntry[] = [];
  let savedUpTo = 0;
  let dirty = false;
  let finished = false;
  let acknowledged = false;
  let resolved = false;
  let resolvedBy: string | undefined;
  const escalateRequests: ActorInput[] = [];
  /** 'pending' until the store has been asked for the id; 'unreserved' when it could not answer. */
  let idState: 'pending' | 'reserved' | 'unreserved' = 'pending';
  const approvals = new Set<string>();
  let approveNext: string | undefined;
  let pendingApproval: string | undefined;
  let respondSlaMissed = false;
  let resolveSlaMissed = false;
  /** Firing alerts delivered by the receiver (its signal-with-start sends the first one too). */
  let alertsReceived = 0;
  const notified: string[] = [];
  const pagerDutyTriggered: string[] = [];
  let onCall: OnCall | undefined;
  let plan: IncidentPlan | undefined;
  let steps: (RunbookStep & { outcome?: Outcome })[] = [];

  const now = () => new Date().toISOString();
  const add = (kind: TimelineKind, message: string, outcome?: Outcome, by?: string) => {
    timeline.push({ seq: timeline.length, at: now(), kind, message, ...(outcome ? { outcome } : {}), ...(by ? { by } : {}) });
    dirty = true;
  };

  const classification = classify(input);
  const record: IncidentRecord = {
    id: incidentId(openedAt),
    workflowId: info.workflowId,
    title: input.title,
    type: input.type,
    severity: input.severity ?? classification.severity,
    severityReason: input.severity ? `set by ${input.source} (rules say ${classification.severity}: ${classification.reason})` : classification.reason,
    state: 'open',
    services: input.services,
    metrics: input.metrics,
    labels: input.labels,
    source: input.source,
    fingerprint: input.fingerprint,
    openedAt: openedAt.toISOString(),
    sla: slaClocks(input.severity ?? classification.severity, openedAt),
    escalationLevel: 0,
    digest: false,
    timeline,
  };

  // --- handlers: set before the first await so signals sent with the start are not lost -------
  wf.setHandler(statusQuery, () => ({
    ...record,
    onCall,
    slaVerdict: slaVerdict(record),
    respondSlaMissed,
    resolveSlaMissed,
    pendingApproval,
    runbook: steps.map((s) => ({ id: s.id, kind: s.kind, needsApproval: s.needsApproval, outcome: s.outcome })),
    notified,
    alertsReceived,
  }));
  wf.setHandler(acknowledgeSignal, (raw) => {
    const a = actorInput.safeParse(raw ?? {});
    if (!a.success || acknowledged || resolved) return;
    acknowledged = true;
    record.state = 'acknowledged';
    record.acknowledgedAt = now();
    record.owner = a.data.by ?? record.owner;
    add('acknowledged', `acknowledged${a.data.by ? ` by ${a.data.by}` : ''}${a.data.note ? `: ${a.data.note}` : ''}`, undefined, a.data.by);
    updateSearch();
  });
  wf.setHandler(resolveSignal, (raw) => {
    const a = actorInput.safeParse(raw ?? {});
    if (!a.success || resolved) return;
    resolved = true;
    resolvedBy = a.data.by;
    record.state = 'resolved';
    record.resolvedAt = now();
    add('resolved', `resolved${a.data.by ? ` by ${a.data.by}` : ''}${a.data.note ? `: ${a.data.note}` : ''}`, undefined, a.data.by);
    updateSearch();
  });
  wf.setHandler(escalateSignal, (raw) => {
    const a = actorInput.safeParse(raw ?? {});
    if (a.success && !resolved) escalateRequests.push(a.data);
  });
  wf.setHandler(noteSignal, (raw) => {
    const n = noteInput.safeParse(raw);
    if (n.success) add('note', n.data.text, undefined, n.data.by);
  });
  wf.setHandler(approveSignal, (raw) => {
    const a = approveInput.safeParse(raw ?? {});
    if (!a.success) return;
    const step = a.data.step ?? pendingApproval ?? steps.find((s) => s.needsApproval && s.outcome === undefined)?.id;
    if (step === undefined) approveNext = a.data.by ?? 'someone';
    else approvals.add(step);
    add('approval', `approved ${step ?? 'the next destructive step'}${a.data.by ? ` by ${a.data.by}` : ''}`, 'ok', a.data.by);
  });
  wf.setHandler(alertSignal, (raw) => {
    const a = alertInput.safeParse(raw);
    if (!a.success || a.data.status !== 'firing') return;
    alertsReceived++;
    // The first few repeats are worth a line; after that the count in `status` says enough.
    if (alertsReceived > 1 && alertsReceived <= 6) add('alert', `alert fired again (${alertsReceived} times so far)`);
  });

  function updateSearch() {
    wf.upsertSearchAttributes([
      { key: OpsflowSeverity, value: record.severity },
      { key: OpsflowState, value: record.state },
      { key: OpsflowService, value: record.services[0] ?? 'none' },
    ]);
    wf.setCurrentDetails(
      `**${record.id}** ${record.severity} ${record.state}${record.owner ? `, owner ${record.owner}` : ''}\n\n` +
        `${record.title}\n\nrespond by ${record.sla.respondBy}, resolve by ${record.sla.resolveBy}` +
        (pendingApproval ? `\n\n**waiting for approve: ${pendingApproval}**` : ''),
    );
  }

  // --- persistence: in the background, so a store outage never delays the response -----------
  const snapshot = () => {
    const { timeline: _t, ...rest } = record;
    return rest;
  };
  const persister = (async () => {
    // Never write a row under an id before it is ours (another incident may hold that second).
    await wf.condition(() => idState !== 'pending');
    if ((idState as string) === 'unreserved') {
      record.id = await acts.reserveIncidentId.executeWithOptions(withSummary(storeOptions, `reserve incident id ${record.id} (retry)`), [
        { openedAt: record.openedAt, workflowId: info.workflowId, runId: info.runId, incident: snapshot() },
      ]);
      updateSearch();
    }
    for (;;) {
      await wf.condition(() => dirty || finished);
      if (!dirty) return;
      dirty = false;
      const events = timeline.slice(savedUpTo);
      savedUpTo = timeline.length;
      await acts.saveIncident.executeWithOptions(withSummary(storeOptions, `store ${record.id} (+${events.length} timeline entries)`), [
        { incident: snapshot(), runId: info.runId, events },
      ]);
    }
  })();

  // --- notifications -------------------------------------------------------------------------
  async function notifyAll(
    event: string,
    notifiers: string[],
    title: string,
    text: string,
    action?: Notification['action'],
    severity: Notification['severity'] = notificationSeverity[record.severity],
  ): Promise<void> {
    await Promise.all(
      notifiers.map(async (name) => {
        const isPagerDuty = plan?.notifierTypes[name] === 'pagerduty';
        const n: Notification = {
          notifier: name,
          idempotencyKey: notificationKey(info.workflowId, info.runId, event, name),
          severity,
          title,
          text,
          details: { incident: record.id, workflowId: info.workflowId, severity: record.severity, type: record.type, services: record.services },
          ...(isPagerDuty ? { action: action ?? 'trigger', dedupKey: `${info.workflowId}/${info.runId}` } : {}),
        };
        try {
          await acts.notify.executeWithOptions(withSummary(notifyOptions, `${event}: ${isPagerDuty ? `PagerDuty ${n.action}` : 'notify'} ${name}`), [n]);
          if (!notified.includes(name)) notified.push(name);
          if (isPagerDuty && (action ?? 'trigger') === 'trigger' && !pagerDutyTriggered.includes(name)) pagerDutyTriggered.push(name);
          add('notified', `${event}: ${name}${isPagerDuty ? ` (PagerDuty ${n.action})` : ''}`, 'ok');
        } catch (err) {
          add('notified', `${event}: ${name} failed: ${failureMessage(err)}`, 'failed');
        }
      }),
    );
  }

  const headline = () => `[${record.severity}] ${record.id}: ${record.title}`;
  function describe(): string {
    const lines = [
      `${record.severity} (${record.severityReason}), type ${record.type}`,
      `services: ${record.services.join(', ') || 'none named'}`,
    ];
    const m = Object.entries(record.metrics);
    if (m.length) lines.push(`metrics: ${m.map(([k, v]) => `${k}=${v}`).join(', ')}`);
    if (onCall) lines.push(`on call: ${onCall.oncall ?? onCall.shift} (${onCall.shift} shift, ${onCall.localTime})`);
    lines.push(`respond by ${record.sla.respondBy}, resolve by ${record.sla.resolveBy}`);
    if (record.severity === 'P0' && plan?.warRoomUrl) lines.push(`war room: ${plan.warRoomUrl}`);
    if (input.generatorUrl) lines.push(`alert: ${input.generatorUrl}`);
    if (input.description) lines.push(input.description);
    lines.push(`acknowledge: opsflow signal ${info.workflowId} acknowledge --input '{"by":"<you>"}'`);
    return lines.join('\n');
  }

  // --- open ----------------------------------------------------------------------------------
  add('opened', `opened from ${input.source}${input.fingerprint ? ` (fingerprint ${input.fingerprint})` : ''}: ${input.title}`);
  updateSearch();
  plan = await acts.planIncident.executeWithOptions(withSummary(readOptions, 'read incident config: rules, rota, escalation, runbook'), []);
  if (!input.severity) {
    const c = classify(input, plan.severityRules);
    record.severity = c.severity;
    record.severityReason = c.reason;
    record.sla = slaClocks(c.severity, openedAt);
  }
  add('classified', `${record.severity}: ${record.severityReason}; respond within ${record.sla.respondMinutes} min, resolve within ${record.sla.resolveMinutes} min`);
  onCall = onCallAt(plan.rota, openedAt);
  add('oncall', `on call: ${onCall.oncall ?? 'nobody named'} (${onCall.shift} shift, ${onCall.localTime})`);
  steps = planRunbook(record.severity, record.type, record.services, plan.remediation);
  updateSearch();

  try {
    record.id = await acts.reserveIncidentId.executeWithOptions(
      { startToCloseTimeout: '20s', retry: { maximumAttempts: 3, initialInterval: '1s' }, summary: `reserve incident id ${record.id}` },
      [{ openedAt: record.openedAt, workflowId: info.workflowId, runId: info.runId, incident: snapshot() }],
    );
    idState = 'reserved';
  } catch (err) {
    if (isNonRetryable(err)) throw err;
    idState = 'unreserved';
    add('opened', `incident store unreachable (${failureMessage(err)}); continuing as ${record.id}, the record is written when it answers`, 'failed');
  }
  updateSearch();
  dirty = true;

  const recipientsNow = (names: string[], withChannels: boolean) =>
    resolveRecipients(names, plan!.contacts, onCallAt(plan!.rota, new Date()), withChannels ? plan!.channels : []);

  if (record.severity === 'P3') {
    record.digest = true;
    add('digest', 'P3: recorded for the business-hours digest; nobody is paged');
  } else {
    await notifyAll('opened', recipientsNow(plan.recipients[record.severity], true), headline(), describe());
  }

  // --- clocks --------------------------------------------------------------------------------
  const resolveClock = (async () => {
    const inTime = await wf.condition(() => resolved, record.sla.resolveMinutes * 60_000, {
      summary: `resolve SLA ${record.severity}: ${record.sla.resolveMinutes} min`,
    });
    if (!inTime) {
      resolveSlaMissed = true;
      add('sla', `resolve SLA missed: not resolved within ${record.sla.resolveMinutes} min`, 'failed');
    }
  })();

  const escalation = (async () => {
    if (record.severity === 'P3') return;
    let done = 0;
    while (!resolved) {
      const step = nextEscalation(plan!.escalation, done, record.sla.respondMinutes);
      if (acknowledged || !step) {
        // Acknowledged or policy exhausted: only a person's `escalate` moves it further.
        await wf.condition(() => resolved || escalateRequests.length > 0);
      } else {
        const inTime = await wf.condition(() => acknowledged || resolved || escalateRequests.length > 0, step.waitMinutes * 60_000, {
          summary: `${done === 0 ? 'respond SLA' : 'escalation'}: level ${step.level} (${step.notify.join(', ')}) unless acknowledged within ${step.waitMinutes} min`,
        });
        if (inTime && escalateRequests.length === 0) continue; // acknowledged or resolved
        if (!inTime && done === 0) {
          respondSlaMissed = true;
          add('sla', `respond SLA missed: not acknowledged within ${record.sla.respondMinutes} min`, 'failed');
        }
      }
      if (resolved) return;
      const manual = escalateRequests.shift();
      const next = step ?? nextEscalation({ ...plan!.escalation, repeat: 1_000 }, done, record.sla.respondMinutes)!;
      done++;
      record.escalationLevel = done;
      add(
        'escalated',
        `escalated to level ${next.level}${next.pass ? ` (round ${next.pass + 1})` : ''}: ${next.notify.join(', ')}${manual ? ' on request' : ', nobody acknowledged'}`,
        undefined,
        manual?.by,
      );
      updateSearch();
      await notifyAll(
        `escalated-${done}`,
        recipientsNow(next.notify, true),
        `ESCALATED (level ${next.level}) ${headline()}`,
        `${manual ? `escalated by ${manual.by ?? 'request'}${manual.note ? `: ${manual.note}` : ''}` : `not acknowledged within ${next.waitMinutes} min`}\n${describe()}`,
      );
    }
  })();

  const acknowledgement = (async () => {
    await wf.condition(() => acknowledged || resolved);
    if (!acknowledged || resolved) return;
    if (pagerDutyTriggered.length) await notifyAll('acknowledged', [...pagerDutyTriggered], headline(), `acknowledged by ${record.owner ?? 'someone'}`, 'acknowledge');
  })();

  // --- remediation runbook -------------------------------------------------------------------
  async function approved(step: RunbookStep, what: string): Promise<boolean> {
    if (!step.needsApproval || approvals.has(step.id)) return true;
    if (approveNext !== undefined) {
      approveNext = undefined;
      return true;
    }
    pendingApproval = step.id;
    add('approval', `waiting for approve of ${step.id}: ${what}`, 'waiting');
    updateSearch();
    await wf.condition(() => approvals.has(step.id) || resolved);
    pendingApproval = undefined;
    updateSearch();
    return approvals.has(step.id);
  }

  async function runStep(step: RunbookStep): Promise<Outcome> {
    switch (step.kind) {
      case 'restart': {
        const r = step.remediation;
        const where = r.host ? ` on ${r.host}` : '';
        if (!(await approved(step, `restart ${r.units.join(', ')}${where}`))) return 'skipped';
        for (const unit of r.units) {
          try {
            await acts.restartUnit.executeWithOptions(
              { startToCloseTimeout: '2m', retry: { maximumAttempts: 3, initialInterval: '2s' }, summary: `systemctl restart ${unit}${where}` },
              [{ unit, host: r.host }],
            );
            add('remediation', `restarted ${unit}${where}`, 'ok');
          } catch (err) {
            add('remediation', `restart ${unit}${where} failed: ${failureMessage(err)}`, 'failed');
            return 'failed';
          }
        }
        if (!r.health) return 'ok';
        await wf.sleep(r.settleSeconds * 1000, { summary: `wait ${r.settleSeconds} s for ${step.service} to settle` });
        try {
          const h = await acts.verifyHealthEndpoint.executeWithOptions(
            {
              startToCloseTimeout: '1m',
              retry: { maximumAttempts: r.healthAttempts, initialInterval: r.healthIntervalSeconds * 1000, backoffCoefficient: 1 },
              summary: `verify ${r.health} health (up to ${r.healthAttempts} tries)`,
            },
            [r.health],
          );
          add('remediation', `${r.health} healthy after restart (HTTP ${h.status} in ${h.latencyMs} ms)`, 'ok');
          return 'ok';
        } catch (err) {
          add('remediation', `${r.health} still unhealthy after restart: ${failureMessage(err)}`, 'failed');
          return 'failed';
        }
      }
      case 'database': {
        const check = await acts.checkPrimaryDatabase.executeWithOptions(withSummary(readOptions, `check primary ${step.primary}: SELECT 1`), [step.primary]);
        if (check.ok) {
          add('remediation', `primary ${step.primary} answers SELECT 1 in ${check.latencyMs} ms: no failover`, 'ok');
          return 'ok';
        }
        add('remediation', `primary ${step.primary} is down: ${check.error ?? 'no answer'}`, 'failed');
        const how = step.command ? `run ${step.command.join(' ')}` : `pg_promote() on ${step.replica}`;
        if (!(await approved(step, `fail over: ${how}`))) return 'skipped';
        try {
          const f = await acts.failoverDatabase.executeWithOptions(
            { startToCloseTimeout: '3m', retry: { maximumAttempts: 3, initialInterval: '5s' }, summary: `fail over: ${how}` },
            [{ replica: step.replica, command: step.command }],
          );
          add('remediation', `failover: ${f.message}`, 'ok');
          return 'ok';
        } catch (err) {
          add('remediation', `failover failed: ${failureMessage(err)}`, 'failed');
          return 'failed';
        }
      }
      case 'diagnostics': {
        try {
          const d = await acts.collectDiagnostics.executeWithOptions(
            { startToCloseTimeout: '3m', retry: { maximumAttempts: 3, initialInterval: '2s' }, summary: 'collect diagnostics into the incident record' },
            [{ incidentId: record.id }],
          );
          add('remediation', `diagnostics collected: ${d.sections.join(', ') || 'nothing configured'}${d.failed.length ? ` (failed: ${d.failed.join(', ')})` : ''}`, d.failed.length ? 'failed' : 'ok');
          return d.failed.length ? 'failed' : 'ok';
        } catch (err) {
          add('remediation', `diagnostics failed: ${failureMessage(err)}`, 'failed');
          return 'failed';
        }
      }
      case 'backup-servers': {
        if (!(await approved(step, `set ${step.servers.join(', ')} ready on ${step.lb}`))) return 'skipped';
        for (const server of step.servers) {
          try {
            await acts.setLoadBalancerServerState.executeWithOptions(
              { startToCloseTimeout: '1m', retry: { maximumAttempts: 5, initialInterval: '2s' }, summary: `LB ${step.lb}: ${server} → ready (backup)` },
              [{ lb: step.lb, server, state: 'ready' }],
            );
            add('remediation', `backup server ${server} ready on ${step.lb}`, 'ok');
          } catch (err) {
            add('remediation', `backup server ${server} on ${step.lb} failed: ${failureMessage(err)}`, 'failed');
            return 'failed';
          }
        }
        return 'ok';
      }
    }
  }

  for (const step of steps) {
    if (resolved) {
      step.outcome = 'skipped';
      add('remediation', `${step.id}: skipped, the incident is resolved`, 'skipped');
      continue;
    }
    step.outcome = await runStep(step);
    if (step.outcome === 'skipped') add('remediation', `${step.id}: skipped (not approved before resolution)`, 'skipped');
  }
  if (steps.some((s) => s.outcome === 'failed') && !resolved) {
    await notifyAll('remediation-failed', recipientsNow([], true), `Auto-remediation incomplete: ${headline()}`, timelineText(timeline.filter((e) => e.kind === 'remediation')));
  }

  // --- resolution ----------------------------------------------------------------------------
  await wf.condition(() => resolved);
  await Promise.all([escalation, acknowledgement, resolveClock]);
  if (pagerDutyTriggered.length) await notifyAll('resolved', [...pagerDutyTriggered], headline(), 'resolved', 'resolve');
  const told = notified.filter((n) => plan!.notifierTypes[n] !== 'pagerduty');
  if (told.length) {
    const v = slaVerdict(record);
    await notifyAll(
      'resolved',
      told,
      `RESOLVED ${headline()}`,
      `resolved${resolvedBy ? ` by ${resolvedBy}` : ''} after ${v.timeToResolveMinutes} min` +
        `${record.owner ? `, owner ${record.owner}` : ''}; the postmortem is stored with the incident (opsflow incident show ${record.id})`,
      undefined,
      'info',
    );
  }
  record.postmortem = renderPostmortem(record);
  add('resolved', 'postmortem written');
  finished = true;
  await persister;
  return {
    id: record.id,
    severity: record.severity,
    state: record.state,
    owner: record.owner,
    slaVerdict: slaVerdict(record),
    timelineEntries: timeline.length,
    postmortemStored: true,
  };
}

function failureMessage(err: unknown): string {
  const e = err as { cause?: { message?: string }; message?: string };
  return e.cause?.message ?? e.message ?? String(err);
}

function isNonRetryable(err: unknown): boolean {
  const cause = (err as { cause?: { nonRetryable?: boolean } }).cause;
  return cause?.nonRetryable === true;
}

function timelineText(entries: TimelineEntry[]): string {
  return entries.map((e) => `${e.outcome ?? ''} ${e.message}`.trim()).join('\n');
}
