import os from 'node:os';
import type { Command } from 'commander';
import { STARTED_BY_MEMO } from '../../domain/approval';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ENDING_MEMO } from '../../domain/search-attributes';
import { CliContext, limitOf, print, UsageError } from '../cli-context';
import { findWorkflow, knownSignals, workflowEntries } from '../registry';
import { describeRunning } from './operator';
import { anyStatusQuery } from '../../workflows/common/messages';
import { checkInputNames, namesTargets, readInputArg, validateInput } from '../input';
import { TASK_QUEUE } from '../connection';
import { awaitResult } from '../run-failure';
import { payloadTooLarge } from '../server-error';
import { withChildStatus } from '../child-status';
import { formatRuns, listQuery, runRow, type ListFilters, type RunRow } from '../run-list';
import { formatStatus, knowsStatus, statusView, type RunInfo } from '../run-status';

/**
 * Why a start was refused: which run holds the id (its type may differ: a rollback holds a
 * deploy's lock), that nothing was started, and the lock's own advice.
 */
async function alreadyRunning(client: Client, workflowId: string, lock?: string): Promise<string> {
  // Best effort: the holder may end between the refusal and this look.
  const holder = await client.workflow
    .getHandle(workflowId)
    .describe()
    .then((d) => ` (${d.type}, run ${d.runId}, started ${d.startTime.toISOString()})`)
    .catch(() => '');
  return `a run with id ${workflowId} is already running${holder}; nothing was started${lock ? `: ${lock}` : ''}`;
}

/** What a run recorded about its own end (a cancelled rollout: what the LB read back). */
const endingOf = (handle: WorkflowHandle) => async () => (await handle.describe()).memo?.[ENDING_MEMO];

/** start, status, signal, list, result: the everyday verbs on workflow runs. */
export function registerWorkflowCommands(program: Command, ctx: CliContext) {
  program
    .command('start')
    .description(`start a workflow: ${workflowEntries.map((e) => e.alias).join(', ')} (or its type name)`)
    .argument('<workflow>', 'workflow alias or type, e.g. health-check or healthCheckWorkflow')
    .option('-i, --input <json|file>', 'input as inline JSON or a JSON/YAML file')
    .option('--id <workflowId>', 'workflow id (default: derived from what it acts on)')
    .option('--wait', 'wait for the result and print it')
    .option(
      '--by <name>',
      "who starts it (kept in the run's memo; an approval that forbids the starter refuses them) (default: the OS user)",
    )
    .action(async (name: string, opts: { input?: string; id?: string; wait?: boolean; by?: string }) => {
      const entry = findWorkflow(name);
      if (!entry)
        throw new UsageError(
          `unknown workflow "${name}"; known: ${workflowEntries.map((e) => `${e.alias} (${e.type})`).join(', ')}`,
        );
      const input = validateInput(entry, readInputArg(opts.input));
      // With the targets' config at hand, a name it lacks is refused here rather than by the run's planning.
      const configName = ctx.configName();
      if (configName && namesTargets(ctx.config())) checkInputNames(entry, input, ctx.config(), configName);
      const client = await ctx.temporal();
      const workflowId = opts.id ?? entry.workflowId(input as never, new Date());
      try {
        const handle = await client.workflow.start(entry.type, {
          taskQueue: TASK_QUEUE,
          workflowId,
          args: [input],
          staticSummary: entry.summary(input as never),
          memo: { [STARTED_BY_MEMO]: opts.by ?? os.userInfo().username },
        });
        print(`started ${entry.type} ${handle.workflowId} (run ${handle.firstExecutionRunId})`);
        if (opts.wait) await awaitResult(workflowId, () => handle.result(), print, endingOf(handle));
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError)
          throw new Error(await alreadyRunning(client, workflowId, entry.lock?.(input as never, workflowId)));
        const tooLarge = payloadTooLarge(err, input);
        if (tooLarge) throw new Error(tooLarge);
        throw err;
      }
    });

  program
    .command('status')
    .description(
      'what a run is, its state and step, what it waits for, its last decisions and the command that acts on it (--json: the raw `status` query)',
    )
    .argument('<workflowId>')
    .option('--json', "the run's `status` query answer as it is")
    .option('--children', "a go-live, as JSON: each started stage's child answers its own status beside the stage")
    .action(async (id: string, opts: { json?: boolean; children?: boolean }) => {
      const client = await ctx.temporal();
      const handle = client.workflow.getHandle(id);
      if (opts.json || opts.children) {
        const status = await handle.query(anyStatusQuery);
        print(opts.children ? await withChildStatus(client, status) : status);
        return;
      }
      const d = await handle.describe().catch((err) => {
        if (err instanceof WorkflowNotFoundError) throw new Error(`no workflow with id ${id}`);
        throw err;
      });
      if (!knowsStatus(d.type))
        throw new UsageError(`${d.type} ${id} answers no status query; see opsflow result ${id}`);
      const info: RunInfo = {
        workflowId: id,
        type: d.type,
        execution: d.status.name,
        startTime: d.startTime,
        closeTime: d.closeTime,
      };
      const status = await handle.query(anyStatusQuery);
      print(formatStatus(info, statusView(info, status)));
    });

  program
    .command('signal')
    .description('send a signal (approve, pause, resume, abort, acknowledge, ...)')
    .argument('<workflowId>')
    .argument('<name>')
    .option('-i, --input <json|file>', 'signal argument as inline JSON or a file')
    .option('--force', 'send a name the workflow type is not known to take')
    .action(async (id: string, name: string, opts: { input?: string; force?: boolean }) => {
      const client = await ctx.temporal();
      const args = opts.input === undefined ? [] : [readInputArg(opts.input)];
      if (!opts.force) {
        // A mistyped action would be ignored by the run while the operator believes it was sent.
        const { type } = await describeRunning(client, id);
        const known = knownSignals(type);
        if (!known.includes(name)) {
          throw new UsageError(
            `"${name}" is not a signal of ${type} (known: ${known.join(', ') || 'none'}); nothing was sent (--force sends it anyway)`,
          );
        }
      }
      await client.workflow.getHandle(id).signal(name, ...args);
      print(`signalled ${name} to ${id}`);
    });

  program
    .command('list')
    .description('one row per run, newest first: type, service, status, state, step, start and close')
    .option('-t, --type <workflow>', 'only this workflow (type or CLI alias: phased-rollout, deploy, ...)')
    .option('-s, --service <name>', 'only runs acting on this service (OpsflowService)')
    .option(
      '--state <state>',
      'only runs in this opsflow state or phase (OpsflowState or OpsflowPhase: awaiting-approval, monitoring, waiting, rolled-back, ...)',
    )
    .option(
      '--status <status>',
      'only runs in this Temporal status: running, completed, failed, canceled, terminated, timed-out',
    )
    .option(
      '-q, --query <visibility query>',
      'a visibility query ANDed with the filters, e.g. "OpsflowHealth=\'down\'"',
    )
    .option('-n, --limit <n>', 'at most this many', '20')
    .option('--json', 'the rows as JSON')
    .action(async (opts: ListFilters & { limit: string; json?: boolean }) => {
      const limit = limitOf(opts.limit);
      const query = listQuery(opts);
      const client = await ctx.temporal();
      const rows: RunRow[] = [];
      for await (const w of client.workflow.list({ query })) {
        rows.push(runRow(w));
        if (rows.length >= limit) break;
      }
      print(opts.json ? rows : rows.length ? formatRuns(rows) : `no runs${query ? ` match ${query}` : ''}`);
    });

  program
    .command('result')
    .description('wait for a workflow and print its result')
    .argument('<workflowId>')
    .action(async (id: string) => {
      const client = await ctx.temporal();
      const handle = client.workflow.getHandle(id);
      await awaitResult(id, () => handle.result(), print, endingOf(handle));
    });
}
