// Why: an operator's action on a run is a conversation, not a shot in the dark: the CLI checks the
// run exists, is still running and takes the action, sends it as an Update, and prints the run's
// answer (its new state, or why it refused). Message names come from the workflows' definitions.
import os from 'node:os';
import type { Command } from 'commander';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { CliContext, ExitCode, print, UsageError } from '../cli-context';
import { knownSignals, signalsByType } from '../registry';
import { operatorSignalNames, operatorSignals, operatorUpdates, type OperatorInput, type OperatorSignal } from '../../workflows/common/operator-controls';

const verbs: Record<OperatorSignal, string> = {
  approve: 'approve the step (or batch) the run waits for, or a later one with --step',
  pause: 'pause the run at its next safe point',
  resume: 'resume a paused or held run',
  abort: 'stop the run (it rolls back what it changed)',
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
  if (d.status.name !== 'RUNNING') throw new Error(`the run has ended (${d.status.name.toLowerCase().replace(/_/g, '-')})`);
  return d;
}

/** "accepted: phasedRolloutWorkflow rollout-x is now monitoring, step 2": the run's answer in one line. */
export function acceptedLine(type: string, id: string, status: unknown): string {
  const s = (status ?? {}) as { state?: unknown; phase?: unknown; step?: unknown; batch?: unknown };
  const state = s.state ?? s.phase;
  const step = s.step ?? s.batch;
  return `accepted: ${type} ${id} is now ${state ?? 'running'}${typeof step === 'number' && step > 0 ? `, step ${step}` : ''}`;
}

/** `--step 2` is a step number; anything else a step id (an incident's runbook step). */
function stepOf(raw?: string): number | string | undefined {
  if (raw === undefined) return undefined;
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

/** approve, pause, resume, abort: each an Update answered by the run. */
export function registerOperatorCommands(program: Command, ctx: CliContext) {
  for (const action of operatorSignalNames) {
    const command = program
      .command(action)
      .description(`${verbs[action]}; prints the run's answer: accepted with its new state, or refused with why (exit 1)`)
      .argument('<workflowId>')
      .option('--reason <text>', 'why (kept in the run\'s decisions)')
      .option('--by <name>', 'who decides (default: the OS user)')
      .option('--step <n>', 'the step (or batch) this is for');
    if (action === 'abort') command.option('--all', 'a cutover: restore every batch moved so far, not only the one in flight');
    command.action(async (id: string, opts: { reason?: string; by?: string; step?: string; all?: boolean }) => {
      const client = await ctx.temporal();
      const d = await describeRunning(client, id);
      const types = signalsByType[d.type];
      if (!types?.operator.includes(action)) {
        throw new UsageError(`${d.type} ${id} does not take ${action}${types ? ` (it takes: ${knownSignals(d.type).join(', ')})` : ''}`);
      }
      const step = stepOf(opts.step);
      const input: OperatorInput = {
        by: opts.by ?? os.userInfo().username,
        ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
        ...(step !== undefined ? { step } : {}),
        ...(opts.all ? { all: true } : {}),
      };
      const handle = client.workflow.getHandle(id);
      if (types.signalOnly) {
        // No validator there yet: the signal is sent and nothing comes back.
        await handle.signal(operatorSignals[action], input);
        print(`signalled ${action} to ${d.type} ${id} (it takes ${action} as a signal: no answer comes back; see opsflow status ${id})`);
        return;
      }
      try {
        const status = await handle.executeUpdate(operatorUpdates[action], { args: [input] });
        print(acceptedLine(d.type, id, status));
      } catch (err) {
        if (!(err instanceof WorkflowUpdateFailedError)) throw err;
        print(`refused: ${(err.cause as Error | undefined)?.message ?? err.message}`);
        throw new ExitCode(1);
      }
    });
  }
}
