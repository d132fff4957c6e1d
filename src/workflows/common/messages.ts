// Why: a run and the people and programs that talk to it (the CLI, the alert receiver, a parent
// go-live, the tests) must agree on every message's name and shape; each name is written once, in
// a definition, and everyone imports the definition. Each long workflow's folder lists what it
// takes in its own `messages.ts`, built from these.
import * as wf from '@temporalio/workflow';
import type { QueryDefinition, SignalDefinition, UpdateDefinition } from '@temporalio/common';

/**
 * What an operator sends with an action; every field optional, so the rollout's `{ step, by }`, the
 * incident's approve (a runbook step id) and the migration's bare pause/resume all fit.
 */
export interface OperatorInput {
  by?: string;
  reason?: string;
  /** The step approved: a 1-based step number, or a step id (a go-live's stage, an incident's runbook step). */
  step?: number | string;
  action?: string;
  /** A cutover's abort: restore every batch moved so far, not only the one in flight. */
  all?: boolean;
  /** When it was decided (workflow time, ISO); set by the handler, not the sender. */
  at?: string;
}

/** Every long run answers `status` with its own status shape. */
export const defineStatusQuery = <T>() => wf.defineQuery<T>('status');
/** The `status` query of a run whose type is not known in advance (the CLI's `status`). */
export const anyStatusQuery = defineStatusQuery<unknown>();

export const approveSignal = wf.defineSignal<[OperatorInput?]>('approve');
export const pauseSignal = wf.defineSignal<[OperatorInput?]>('pause');
export const resumeSignal = wf.defineSignal<[OperatorInput?]>('resume');
export const abortSignal = wf.defineSignal<[OperatorInput?]>('abort');

/**
 * The same actions as Updates: the caller is told the run's status, or why the action was refused
 * (the validator runs before anything is written to history). The signal form stays fire-and-forget.
 */
export const approveUpdate = wf.defineUpdate<unknown, [OperatorInput]>(approveSignal.name);
export const pauseUpdate = wf.defineUpdate<unknown, [OperatorInput]>(pauseSignal.name);
export const resumeUpdate = wf.defineUpdate<unknown, [OperatorInput]>(resumeSignal.name);
export const abortUpdate = wf.defineUpdate<unknown, [OperatorInput]>(abortSignal.name);

/**
 * What a long workflow takes, as its folder's `messages.ts` declares it: the `status` query, every
 * signal (the fire-and-forget form, which `temporal workflow signal` users and histories in flight
 * rely on), and the operator actions answered as Updates, keyed by the CLI's verb.
 */
export interface WorkflowMessages {
  status: QueryDefinition<unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- definitions of every workflow's own argument types
  signals: readonly SignalDefinition<any[]>[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above, each Update's own input and answer
  actions: Readonly<Partial<Record<ActionVerb, UpdateDefinition<any, [any]>>>>;
}

/** The operator controls by verb, as signals and as Updates. */
export const operatorSignals = { approve: approveSignal, pause: pauseSignal, resume: resumeSignal, abort: abortSignal };
export const operatorUpdates = { approve: approveUpdate, pause: pauseUpdate, resume: resumeUpdate, abort: abortUpdate };

/**
 * What a workflow takes that answers the operator controls `verbs` (each as its signal and its
 * Update), and `more` of its own, listed after them.
 */
export function controlledMessages(
  status: QueryDefinition<unknown>,
  verbs: readonly (keyof typeof operatorSignals)[],
  more: Partial<Pick<WorkflowMessages, 'signals' | 'actions'>> = {},
): WorkflowMessages {
  return {
    status,
    signals: [...verbs.map((v) => operatorSignals[v]), ...(more.signals ?? [])],
    actions: { ...Object.fromEntries(verbs.map((v) => [v, operatorUpdates[v]])), ...more.actions },
  };
}

/** The CLI's verbs for operator actions, in the order `--help` lists them. */
export const actionVerbs = [
  'approve',
  'pause',
  'resume',
  'abort',
  'reschedule',
  'skip',
  'recheck',
  'sign-off',
  'waive',
  'acknowledge',
  'resolve',
] as const;
export type ActionVerb = (typeof actionVerbs)[number];

/** The names of the signals a workflow's messages list (for its default signal handler's words). */
export const signalNames = (m: Pick<WorkflowMessages, 'signals'>): string[] => m.signals.map((s) => s.name);
