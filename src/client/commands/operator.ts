// Why: an operator's action on a run is a conversation, not a shot in the dark: the CLI checks the
// run exists, is still running and takes the action, checks the action's own input, sends it as
// an Update, and prints the run's answer (its new state, or why it refused). Message definitions
// come from the workflows' own `messages.ts`.
import type { ZodType } from 'zod';
import os from 'node:os';
import type { Command } from 'commander';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { CliContext, ExitCode, print, UsageError } from '../cli-context';
import { knownActions, messagesByType } from '../registry';
import { actionVerbs, type ActionVerb } from '../../workflows/common/messages';
import { signOffInput, waiveInput } from '../../domain/readiness/input';
import { formatIssues } from '../../domain/validation';
import type { ApprovalProgress } from '../../workflows/common/operator-carry';

const verbs: Record<ActionVerb, string> = {
  approve: 'approve the step (or batch, stage, runbook step) the run waits for, or a later one with --step',
  pause: 'pause the run at its next safe point',
  resume: 'resume a paused or held run',
  abort: 'stop the run (it rolls back what it changed)',
  reschedule: 'a cutover: give a batch not started yet a new start time (--batch, --start-at)',
  skip: 'a cutover: leave out a batch not started yet (--batch)',
  recheck: 'a readiness gate: check automated items again (--item, repeatable; none: all)',
  'sign-off': 'a readiness gate: sign off a human item (--item)',
  waive: 'a readiness gate: accept a failing item until a time (--item, --until, --reason)',
  acknowledge: 'an incident: acknowledge it (stops escalation; you become the owner)',
  resolve: 'an incident: resolve it (PagerDuty resolve, resolution message, postmortem)',
};

/** The run behind `id`, described; an unknown id or a closed run is an error naming it. */
export async function describeRunning(client: Client, id: string): Promise<WorkflowExecutionDescription> {
  let d: WorkflowExecutionDescription;
  try {
    d = await client.workflow.getHandle(id).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new Error(`no workflow with id ${id}`);
    throw err;
  }
  if (d.status.name !== 'RUNNING')
    throw new Error(`the run has ended (${d.status.name.toLowerCase().replace(/_/g, '-')})`);
  return d;
}

/** "accepted: phasedRolloutWorkflow rollout-x is now monitoring, step 2": the run's answer in one line. */
export function acceptedLine(type: string, id: string, status: unknown): string {
  const s = (status ?? {}) as {
    state?: unknown;
    phase?: unknown;
    step?: unknown;
    batch?: unknown;
    approvals?: ApprovalProgress;
  };
  const state = s.state ?? s.phase;
  const step = s.step ?? s.batch;
  const a = s.approvals;
  const soFar =
    a && Array.isArray(a.approvedBy)
      ? `; step ${a.step} approved so far by ${a.approvedBy.join(', ') || 'nobody'} (${a.approvedBy.length} of ${a.needed})`
      : '';
  return `accepted: ${type} ${id} is now ${state ?? 'running'}${typeof step === 'number' && step > 0 ? `, step ${step}` : ''}${soFar}`;
}

/** `--step 2` is a step number; anything else a step id (an incident's runbook step, a go-live's stage). */
function stepOf(raw?: string): number | string | undefined {
  if (raw === undefined) return undefined;
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

export interface ActionOptions {
  reason?: string;
  by?: string;
  step?: string;
  all?: boolean;
  batch?: string;
  startAt?: string;
  item?: string[];
  note?: string;
  until?: string;
}

const need = (value: string | undefined, flag: string, verb: string): string => {
  if (value === undefined || value === '') throw new UsageError(`${flag}: required for ${verb}`);
  return value;
};
const checked = <T>(schema: ZodType<T>, value: unknown, verb: string): T => {
  const r = schema.safeParse(value);
  if (!r.success) throw new UsageError(`${verb}: ${formatIssues(r.error)}`);
  return r.data;
};

/**
 * What the Update carries for `verb` on a run of `type`, checked here so a malformed action is
 * refused before anything is sent (naming the flag). `by` is always set: who decided.
 */
export function actionInput(verb: ActionVerb, type: string, o: ActionOptions, by: string): unknown {
  const reason = o.reason !== undefined ? { reason: o.reason } : {};
  switch (verb) {
    case 'approve': {
      const step = stepOf(o.step);
      // An incident's runbook steps are named, never numbered.
      if (type === 'incidentResponseWorkflow') return { by, ...(step !== undefined ? { step: String(step) } : {}) };
      return { by, ...reason, ...(step !== undefined ? { step } : {}) };
    }
    case 'pause':
    case 'resume':
      return { by, ...reason };
    case 'abort':
      return { by, ...reason, ...(o.all ? { all: true } : {}) };
    case 'reschedule':
      return { batch: stepOf(need(o.batch, '--batch', verb)), startAt: need(o.startAt, '--start-at', verb), by };
    case 'skip':
      return { batch: stepOf(need(o.batch, '--batch', verb)), by };
    case 'recheck':
      return { by, ...(o.item?.length ? { items: o.item } : {}) };
    case 'sign-off':
      return checked(
        signOffInput,
        { item: need(o.item?.[0], '--item', verb), by, ...((o.note ?? o.reason) ? { note: o.note ?? o.reason } : {}) },
        verb,
      );
    case 'waive':
      return checked(
        waiveInput,
        {
          item: need(o.item?.[0], '--item', verb),
          by,
          reason: need(o.reason, '--reason', verb),
          until: need(o.until, '--until', verb),
        },
        verb,
      );
    case 'acknowledge':
    case 'resolve':
      return { by, ...((o.note ?? o.reason) ? { note: o.note ?? o.reason } : {}) };
  }
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** approve, pause, resume, abort, reschedule, skip, recheck, sign-off, waive, acknowledge, resolve: each an Update answered by the run. */
export function registerOperatorCommands(program: Command, ctx: CliContext) {
  for (const verb of actionVerbs) {
    const command = program
      .command(verb)
      .description(`${verbs[verb]}; prints the run's answer: accepted with its new state, or refused with why (exit 1)`)
      .argument('<workflowId>')
      .option('--reason <text>', "why (kept in the run's decisions)")
      .option('--by <name>', 'who decides (default: the OS user)');
    if (verb === 'approve')
      command.option('--step <n>', 'the step (or batch, stage name, runbook step id) this is for');
    if (verb === 'abort')
      command.option('--all', 'a cutover: restore every batch moved so far, not only the one in flight');
    if (verb === 'reschedule' || verb === 'skip')
      command.option('--batch <name|n>', 'the batch, by name or 1-based number');
    if (verb === 'reschedule')
      command.option('--start-at <time>', "its new start: an offset from the cutover's start (+6h) or an ISO time");
    if (verb === 'recheck' || verb === 'sign-off' || verb === 'waive')
      command.option('--item <id>', 'the checklist item' + (verb === 'recheck' ? ' (repeatable)' : ''), collect);
    if (verb === 'sign-off' || verb === 'acknowledge' || verb === 'resolve')
      command.option('--note <text>', 'a note kept with it');
    if (verb === 'waive') command.option('--until <time>', 'until when the waiver holds (ISO time with offset)');
    command.action(async (id: string, opts: ActionOptions) => {
      const client = await ctx.temporal();
      const d = await describeRunning(client, id);
      const update = messagesByType[d.type]?.actions[verb];
      if (!update) {
        const takes = knownActions(d.type);
        throw new UsageError(
          `${d.type} ${id} does not take ${verb} (${takes.length ? `it takes: ${takes.join(', ')}` : 'it takes no operator actions'}); nothing was sent`,
        );
      }
      const input = actionInput(verb, d.type, opts, opts.by ?? os.userInfo().username);
      try {
        const status = await client.workflow.getHandle(id).executeUpdate(update, { args: [input] });
        print(acceptedLine(d.type, id, status));
      } catch (err) {
        if (!(err instanceof WorkflowUpdateFailedError)) throw err;
        print(`refused: ${(err.cause as Error | undefined)?.message ?? err.message}`);
        throw new ExitCode(1);
      }
    });
  }
}
