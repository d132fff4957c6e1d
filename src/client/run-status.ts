// Why: `opsflow status` answers an operator's questions in a few lines (what is this run, where is
// it, what does it wait for, what was decided, which command moves it on) from the run's own
// `status` query; each workflow's status has its own shape, so each has a reader here. Pure, so
// every reading is unit-tested without a server.
import { opsflowCommand, recheckCommand, signOffCommand } from '../domain/operator-commands';
import { findWorkflow } from './registry';
import { endStates } from '../workflows/rollout/status';

/** What `describe` says of the run, besides its status query's answer. */
export interface RunInfo {
  workflowId: string;
  type: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, … */
  execution: string;
  startTime?: Date;
  closeTime?: Date;
}

/** A run as `opsflow status` tells it. */
export interface StatusView {
  /** What the run is: its type and what it acts on. */
  what: string;
  /** The state in words: "awaiting approval", "paused (monitoring goes on, no next step)". */
  state: string;
  /** Where it is: "step 1/3 (10 %)", "batch 2/4 \"managers\"". */
  step?: string;
  /** When it entered its state (or its last decision, when the status keeps no such time). */
  since?: string;
  /** What it waits for: a person (which action, by whom), a timer (until when), a check. */
  waits?: string;
  /** Why it ended badly, when it did. */
  failure?: string;
  /** The last few decisions, oldest first. */
  decisions: string[];
  /** The exact commands that act on it now. */
  commands: string[];
}

/** How many decisions `status` shows. */
export const DECISIONS_SHOWN = 5;

// The status query answers plain JSON of a shape each workflow declares; read loosely here so a
// field a run of an older version lacks reads as absent rather than failing the whole answer.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- read loosely, as said above
type Loose = Record<string, any>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const words = (state: unknown) => (str(state) ?? 'unknown').replace(/-/g, ' ');

/** A decision in one line, whatever the workflow keeps: a string, {at, decision}, {at, text}, {at, message, by}. */
export function decisionLine(d: unknown): string {
  if (typeof d === 'string') return d;
  const o = (d ?? {}) as Loose;
  const text = str(o.decision) ?? str(o.text) ?? str(o.message) ?? JSON.stringify(d);
  return `${str(o.at) ? `${o.at} ` : ''}${text}${str(o.by) && !text.includes(o.by) ? ` (by ${o.by})` : ''}`;
}

const lastAt = (list: unknown): string | undefined => {
  const last = Array.isArray(list) ? list.at(-1) : undefined;
  return last && typeof last === 'object' ? str((last as Loose).at) : undefined;
};
const list = <T = Loose>(v: unknown): T[] => (Array.isArray(v) ? v : []);

const abortCommand = (id: string) => opsflowCommand('abort', id, '--reason', '…');
const by = (a: unknown) => {
  const o = (a ?? {}) as Loose;
  return `${str(o.by) ? ` by ${o.by}` : ''}${str(o.at) ? ` at ${o.at}` : ''}`;
};

type Reader = (
  s: Loose,
  id: string,
) => Omit<StatusView, 'decisions' | 'commands'> & { decisions?: unknown[]; commands?: string[] };
type Read = ReturnType<Reader>;

/** What most statuses keep under the same names; a reader overrides what its workflow keeps elsewhere. */
const common = (s: Loose) => ({ state: words(s.state ?? s.phase), failure: str(s.failure), decisions: s.decisions });

/**
 * A paused run says so first, whatever else it waits on: its state reads "paused (<what goes on>)",
 * since when it was paused, and the command that resumes it. An approval it also waits for stays
 * the wait and its command first (approving does not resume it).
 */
function pausedFirst(view: Read, s: Loose, id: string, what: string): Read {
  if (!s.paused) return view;
  const resume = opsflowCommand('resume', id);
  const others = (view.commands ?? []).filter((c) => c !== resume && c !== opsflowCommand('pause', id));
  const person = view.waits?.startsWith("a person's") === true;
  return {
    ...view,
    state: `paused (${what})`,
    since: str(s.pausedBy?.at) ?? view.since,
    waits: person ? view.waits : `a person's resume (paused${by(s.pausedBy)})`,
    commands: person ? [...others.slice(0, 1), resume, ...others.slice(1)] : [resume, ...others],
  };
}

const anyoneApproves = (what: string) => `a person's approve of ${what} (anyone may approve)`;

/**
 * A change that goes on by itself until it ends: it waits for a person's approve (the wait given),
 * for a resume or abort when its gate was inconclusive (held), or else goes on (on the timer given)
 * and can be paused; it can always be aborted, and a paused one says so first (`pausedFirst`).
 */
function change(
  view: Read,
  s: Loose,
  id: string,
  o: { ended: boolean; approval?: string; timer?: string; paused: string },
): Read {
  if (o.ended) return view;
  if (o.approval) {
    view.waits = o.approval;
    view.commands = [opsflowCommand('approve', id), abortCommand(id)];
  } else if (s.state === 'held') {
    view.waits = "a person's resume or abort: the gate was inconclusive; it rolls back when nobody answers in time";
    view.commands = [opsflowCommand('resume', id), abortCommand(id)];
  } else {
    if (o.timer) view.waits = o.timer;
    view.commands = [opsflowCommand('pause', id), abortCommand(id)];
  }
  return pausedFirst(view, s, id, o.paused);
}

function rollout(s: Loose, id: string): Read {
  const steps = list(s.steps);
  const label = (n: number) => `step ${n}/${steps.length} (${steps[n - 1]?.weight ?? '?'} %)`;
  const w = s.window as Loose | undefined;
  const monitoring = s.state === 'monitoring';
  const view: Read = {
    ...common(s),
    what: `${s.dryRun ? 'DRY RUN: ' : ''}phased rollout of ${s.service} on ${s.lb}: ${s.backends?.old} → ${s.backends?.new}, ${steps.map((x) => `${x.weight}%`).join(' → ')}`,
    step: s.step > 0 ? label(s.step) : undefined,
    since: str(s.since) ?? lastAt(s.decisions),
  };
  return change(view, s, id, {
    ended: endStates.includes(s.state),
    approval: s.awaitingApproval !== undefined ? anyoneApproves(label(s.awaitingApproval)) : undefined,
    timer:
      monitoring && w && Date.parse(w.startedAt)
        ? `a timer: gate sample ${Math.min(w.samplesTaken + 1, w.samplesPlanned)}/${w.samplesPlanned} of ${label(w.step)} at ${new Date(Date.parse(w.startedAt) + (w.samplesTaken + 1) * w.intervalMs).toISOString()}`
        : undefined,
    paused: monitoring ? 'the window goes on sampling; no next step until resumed' : words(s.state),
  });
}

function cutover(s: Loose, id: string): Read {
  const batches = list(s.batches);
  const label = (i: number) => `batch ${i + 1}/${batches.length} "${batches[i]?.name}"`;
  const view: Read = {
    ...common(s),
    what: `user cutover of ${s.service}: ${batches.map((b) => b.name).join(' → ')}`,
    step: typeof s.current === 'number' ? `${label(s.current)} (${words(batches[s.current]?.state)})` : undefined,
    since: lastAt(s.decisions),
  };
  return change(view, s, id, {
    ended: ['completed', 'rolled-back', 'aborted', 'failed'].includes(s.state),
    approval: s.awaitingApproval !== undefined ? anyoneApproves(label(s.awaitingApproval - 1)) : undefined,
    timer: str(s.nextStartAt) && `a timer: the next batch starts at ${s.nextStartAt}`,
    paused: `${words(s.state)}: no next batch starts until resumed`,
  });
}

function deploy(s: Loose, id: string): Read {
  const batches = list(s.batches);
  const view: Read = {
    ...common(s),
    what: `${s.kind === 'rollback' ? 'rollback' : 'deploy'} of ${s.service}${str(s.ref) ? ` ${s.ref}` : ''}${str(s.commit) ? ` (${s.commit.slice(0, 12)})` : ''}: ${Object.keys(s.hosts ?? {}).length} hosts in ${batches.length} batches`,
    step: s.batch > 0 ? `batch ${s.batch}/${batches.length}` : undefined,
    failure: str(s.stopReason),
    decisions: s.log,
  };
  // A run of a version before `paused` was in its status says it only in its phase, between batches.
  return change(view, { ...s, paused: s.paused === true || s.phase === 'paused' }, id, {
    ended: ['done', 'stopped', 'failed', 'cancelled'].includes(s.phase),
    approval: str(s.awaitingApproval) && anyoneApproves(s.awaitingApproval),
    paused:
      s.phase === 'paused'
        ? 'no next batch starts until resumed'
        : `${words(s.phase)}: the batch under way finishes, no next one starts`,
  });
}

function migration(s: Loose, id: string): Read {
  const c = (s.chunks ?? {}) as Loose;
  const view: Read = {
    ...common(s),
    what: `data migration ${s.name} (${s.mode})`,
    step: c.total ? `chunks: ${c.copied ?? 0}/${c.total} copied, ${c.verified ?? 0} verified` : undefined,
    failure: str(s.error),
  };
  if (['completed', 'failed', 'cancelled'].includes(s.phase)) return view;
  view.commands = [opsflowCommand('pause', id)];
  return pausedFirst(view, s, id, `${words(s.phase)}: no chunk starts until resumed`);
}

function incident(s: Loose, id: string): Read {
  const view: Read = {
    what: `incident ${s.id} ${s.severity ?? ''}: ${s.title} (${s.type}${Array.isArray(s.services) && s.services.length ? ` on ${s.services.join(', ')}` : ''})`,
    state: `${words(s.state)}${str(s.owner) ? `, owner ${s.owner}` : ''}`,
    step: typeof s.escalationLevel === 'number' ? `escalation level ${s.escalationLevel}` : undefined,
    since: lastAt(s.timeline),
    failure: str(s.ended?.message),
    decisions: s.timeline,
  };
  if (['resolved', 'closed'].includes(s.state) || s.ended !== undefined) return view;
  const commands: string[] = [];
  if (str(s.pendingApproval)) {
    view.waits = `a person's approve of runbook step ${s.pendingApproval}`;
    commands.push(opsflowCommand('approve', id, '--step', s.pendingApproval));
  }
  if (!str(s.acknowledgedAt)) {
    view.waits ??= 'an acknowledgement by the on-call (escalation goes on until then)';
    commands.push(opsflowCommand('acknowledge', id));
  }
  commands.push(opsflowCommand('resolve', id));
  return { ...view, commands };
}

function readiness(s: Loose, id: string): Read {
  const items = list(s.items);
  const blocking = list<string>(s.blocking);
  const view: Read = {
    ...common(s),
    what: `go-live readiness of ${s.service} (checklist ${s.checklist}, ${items.length} items)`,
    state: s.phase === 'ready' ? 'READY' : s.phase === 'not-ready' ? 'NOT READY' : words(s.phase),
    step: s.rounds ? `round ${s.rounds} of checks; blocking: ${blocking.join(', ') || 'none'}` : undefined,
  };
  if (!['checking', 'waiting', 'loading'].includes(s.phase)) return view;
  const verdict = (id: string) => items.find((i) => i.id === id)?.verdict;
  const unsigned = blocking.filter((b) => verdict(b) === 'unsigned');
  const failing = blocking.filter((b) => verdict(b) === 'failed' || verdict(b) === 'error');
  const parts = [
    unsigned.length ? `sign-off of ${unsigned.join(', ')}` : '',
    failing.length ? `a fix and recheck (or waiver) of ${failing.join(', ')}` : '',
  ].filter(Boolean);
  if (s.phase === 'waiting') view.waits = `${parts.join('; ') || 'nothing'}; closes NOT READY at ${s.deadline}`;
  view.commands = [
    ...unsigned.map((u) => signOffCommand(id, u)),
    ...(failing.length ? [recheckCommand(id)] : []),
    abortCommand(id),
  ];
  return view;
}

function goLive(s: Loose, id: string): Read {
  const stages = list(s.stages);
  const current = stages.find((x) => x.stage === s.current);
  const awaiting = stages.find((x) => x.state === 'awaiting-approval');
  const view: Read = {
    ...common(s),
    what: `go-live of ${s.service}: ${stages.map((x) => x.stage).join(' → ')}`,
    step: current ? `stage ${current.stage} (${words(current.state)}; its run: ${current.workflowId})` : undefined,
    failure: s.stoppedAt ? `stopped at ${s.stoppedAt.stage}: ${s.stoppedAt.reason}` : undefined,
  };
  return change(view, s, id, {
    ended: ['live', 'stopped', 'failed', 'cancelled'].includes(s.phase),
    approval: awaiting && `a person's approve of stage ${awaiting.stage}`,
    timer: current && `its stage's own run: opsflow status ${current.workflowId}`,
    paused: `${words(s.phase)}: no next stage starts until resumed`,
  });
}

function baseline(s: Loose, id: string): Read {
  const groups = list(s.groups);
  const done = groups.reduce((a, g) => a + (g.ticksDone ?? 0), 0);
  const expected = groups.reduce((a, g) => a + (g.ticksExpected ?? 0), 0);
  const view: Read = {
    ...common(s),
    what: `performance baseline of ${s.service}: ${groups.map((g) => g.group).join(', ')}`,
    step: expected ? `${done}/${expected} samples done` : undefined,
    failure: str(s.failure) ?? str(s.partial),
  };
  if (s.phase === 'sampling' && str(s.window?.endsAt)) view.waits = `the sampling window, until ${s.window.endsAt}`;
  if (['planning', 'sampling', 'summarizing', 'notifying'].includes(s.phase)) view.commands = [abortCommand(id)];
  return view;
}

const gathered = (o: unknown) => Object.entries((o ?? {}) as Record<string, string>);

const shortRuns: Record<string, Reader> = {
  backupWorkflow: (s) => ({
    ...common(s),
    what: `backup of set ${s.set}${str(s.copy) ? `, copy ${s.copy}` : ''}`,
    step: str(s.current) ? `working on ${s.current}` : undefined,
    failure: str(s.failure) ?? (Array.isArray(s.failures) && s.failures.length ? s.failures.join('; ') : undefined),
    decisions: list(s.artifacts).map((a) => `took ${a.file ?? a.kind}`),
  }),
  dailyReportWorkflow: (s) => ({
    ...common(s),
    what: `daily report${str(s.date) ? ` of ${s.date}` : ''}`,
    step: `${gathered(s.gathered).length} parts gathered`,
    decisions: gathered(s.gathered).map(([k, v]) => `${k}: ${v}`),
  }),
  diagnosticsWorkflow: (s) => ({
    ...common(s),
    what: `diagnostics${str(s.plan?.postgres) ? ` of PostgreSQL ${s.plan.postgres}` : ''}${s.plan?.host ? `${str(s.plan?.postgres) ? ' and' : ' of'} the host` : ''}`,
    step: `${gathered(s.collected).length} parts collected`,
    decisions: gathered(s.collected).map(([k, v]) => `${k}: ${v}`),
  }),
  healthCheckWorkflow: (s) => ({
    ...common(s),
    what: 'health check',
    state: `${words(s.phase)}${str(s.report?.summary) ? `: ${s.report.summary} (${s.report.overall})` : ''}`,
    decisions: list(s.report?.failing).map(
      (c) => `${c.name ?? c.target ?? '?'}: ${c.status}${str(c.message) ? ` — ${c.message}` : ''}`,
    ),
  }),
};

const readers: Record<string, Reader> = {
  phasedRolloutWorkflow: rollout,
  userCutoverWorkflow: cutover,
  deployWorkflow: deploy,
  rollbackDeployWorkflow: deploy,
  dataMigrationWorkflow: migration,
  incidentResponseWorkflow: incident,
  readinessCheckWorkflow: readiness,
  goLiveWorkflow: goLive,
  performanceBaselineWorkflow: baseline,
  ...shortRuns,
};

/** The run told in the fields `formatStatus` prints. */
export function statusView(info: RunInfo, status: unknown): StatusView {
  const s = (status && typeof status === 'object' ? status : {}) as Loose;
  const reader = readers[info.type];
  const read: Read = reader ? reader(s, info.workflowId) : { what: info.type, ...common(s) };
  const decisions = list(read.decisions).slice(-DECISIONS_SHOWN).map(decisionLine);
  const view: StatusView = { ...read, decisions, commands: read.commands ?? [] };
  if (info.execution !== 'RUNNING') {
    // The run is over whatever its last status said; what acts on it now is reading its result.
    view.state = `${view.state} — run ${info.execution.toLowerCase().replace(/_/g, '-')}${info.closeTime ? ` at ${info.closeTime.toISOString()}` : ''}`;
    delete view.waits;
    view.commands = [`opsflow result ${info.workflowId}`];
  }
  return view;
}

/** `opsflow status`'s lines. */
export function formatStatus(info: RunInfo, view: StatusView): string {
  const alias = findWorkflow(info.type)?.alias ?? info.type;
  const label = (l: string) => (l ? `${l}:` : '').padEnd(11);
  const lines = [
    `${info.workflowId} (${alias}) — ${view.what}${info.startTime ? `; started ${info.startTime.toISOString()}` : ''}`,
  ];
  lines.push(
    `${label('state')}${view.state}${view.step ? `, ${view.step}` : ''}${view.since ? ` (since ${view.since})` : ''}`,
  );
  if (view.waits) lines.push(`${label('waits for')}${view.waits}`);
  if (view.failure) lines.push(`${label('failure')}${view.failure}`);
  view.decisions.forEach((d, i) => lines.push(`${label(i === 0 ? 'decisions' : '')}${d}`));
  view.commands.forEach((c, i) => lines.push(`${label(i === 0 ? 'act' : '')}${c}`));
  return lines.join('\n');
}

/** Whether runs of `type` answer a `status` query this module can read (the incident digest does not). */
export function knowsStatus(type: string): boolean {
  return type in readers;
}
