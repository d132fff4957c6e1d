import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { CliContext, limitOf, print, UsageError } from '../cli-context';
import { incidentEntry } from '../registry';
import { validateInput } from '../input';
import { TASK_QUEUE } from '../connection';
import type { ParsedIncidentInput } from '../../domain/incident/incident';
import { renderPostmortem } from '../../domain/incident/postmortem';
import { opsflowCommand } from '../../domain/operator-commands';
import { findIncident, listIncidents, migrate, storeRef, type StoreRef } from '../../activities/incident-store/store';
import { withClient } from '../../activities/systems/postgres/connect';
import type { SignalDefinition } from '@temporalio/common';
import {
  acknowledgeSignal,
  approveSignal,
  escalateSignal,
  noteSignal,
  resolveSignal,
} from '../../workflows/incident/messages';

const collect = (v: string, prev: string[]) => [...prev, v];

function pairs(list: string[], flag: string): Record<string, string> {
  return Object.fromEntries(
    list.map((p) => {
      const i = p.indexOf('=');
      if (i < 1) throw new UsageError(`${flag} ${p}: expected key=value`);
      return [p.slice(0, i), p.slice(i + 1)];
    }),
  );
}

function store(ctx: CliContext): StoreRef {
  try {
    return storeRef(ctx.config());
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** An incident named by its INC id (looked up in the store) or by its workflow id. */
async function workflowIdOf(ctx: CliContext, id: string): Promise<string> {
  if (!id.startsWith('INC-')) return id;
  const found = await findIncident(store(ctx), id);
  if (!found) throw new UsageError(`no incident ${id} in the store`);
  return found.workflowId;
}

/** `opsflow incident open|list|show|migrate` and the people's verbs on a running incident. */
export function registerIncidentCommands(program: Command, ctx: CliContext) {
  const incident = program
    .command('incident')
    .description('incident response (runbooks §6): open, list, show, acknowledge, resolve, ...');

  incident
    .command('open')
    .description('open an incident (starts incidentResponseWorkflow)')
    .requiredOption('--title <text>', 'what is wrong, in one line')
    .requiredOption('--type <type>', 'service_down, database_down, high_cpu, error_rate, latency, ...')
    .option('--service <name>', 'an affected service (repeatable)', collect, [])
    .option('--metric <name=value>', 'a number the severity rules read, e.g. errorRate=60 (repeatable)', collect, [])
    .option('--label <key=value>', 'a label (repeatable)', collect, [])
    .option('--severity <P0|P1|P2|P3>', 'override the classification')
    .option('--description <text>')
    .option('--id <workflowId>', 'workflow id (default incident-<type>-<time>)')
    .action(
      async (o: {
        title: string;
        type: string;
        service: string[];
        metric: string[];
        label: string[];
        severity?: string;
        description?: string;
        id?: string;
      }) => {
        const metrics = Object.fromEntries(
          Object.entries(pairs(o.metric, '--metric')).map(([k, v]) => {
            const n = Number(v);
            if (v.trim() === '' || !Number.isFinite(n))
              throw new UsageError(`--metric ${k}=${v}: the value must be a number`);
            return [k, n];
          }),
        );
        const input = validateInput(incidentEntry, {
          title: o.title,
          type: o.type,
          services: o.service,
          metrics,
          labels: pairs(o.label, '--label'),
          severity: o.severity,
          description: o.description,
          source: 'cli',
        }) as ParsedIncidentInput;
        const client = await ctx.temporal();
        const workflowId = o.id ?? incidentEntry.workflowId(input, new Date());
        try {
          await client.workflow.start(incidentEntry.type, {
            taskQueue: TASK_QUEUE,
            workflowId,
            args: [input],
            staticSummary: incidentEntry.summary(input),
          });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError)
            throw new Error(`an incident with id ${workflowId} is already open`);
          throw err;
        }
        print(`opened incident ${workflowId}`);
        print(`  status:      opsflow status ${workflowId}`);
        print(`  acknowledge: ${opsflowCommand('acknowledge', workflowId)}`);
      },
    );

  incident
    .command('list')
    .description('incidents from the store, newest first')
    .option('--state <state>', 'open, acknowledged or resolved')
    .option('--severity <P0|P1|P2|P3>')
    .option('--digest', 'only P3s waiting for the business-hours digest')
    .option('-n, --limit <n>', 'at most this many', '20')
    .option('--json', 'JSON instead of a table')
    .action(async (o: { state?: string; severity?: string; digest?: boolean; limit: string; json?: boolean }) => {
      const limit = limitOf(o.limit);
      if (o.state && !['open', 'acknowledged', 'resolved'].includes(o.state))
        throw new UsageError('--state: open, acknowledged or resolved');
      if (o.severity && !/^P[0-3]$/.test(o.severity)) throw new UsageError('--severity: P0, P1, P2 or P3');
      const rows = await listIncidents(store(ctx), {
        state: o.state,
        severity: o.severity,
        digest: o.digest ? true : undefined,
        limit,
      });
      if (o.json) {
        print(rows.map(({ postmortem: _p, diagnostics: _d, ...r }) => r));
        return;
      }
      if (rows.length === 0) {
        print('no incidents');
        return;
      }
      for (const r of rows)
        print(`${r.id}\t${r.severity}\t${r.state}\t${r.openedAt}\t${r.owner ?? '-'}\t${r.title}\t${r.workflowId}`);
    });

  incident
    .command('show')
    .description('one incident: record, timeline, postmortem')
    .argument('<id>', 'INC-… id or workflow id')
    .option('--json', 'JSON instead of text')
    .action(async (id: string, o: { json?: boolean }) => {
      const r = await findIncident(store(ctx), id);
      if (!r) throw new UsageError(`no incident ${id} in the store`);
      if (o.json) {
        print(r);
        return;
      }
      print(`${r.id} ${r.severity} ${r.state}: ${r.title}`);
      print(
        `  workflow ${r.workflowId}, type ${r.type}, services ${r.services.join(', ') || '-'}, owner ${r.owner ?? '-'}`,
      );
      print(`  opened ${r.openedAt}, acknowledged ${r.acknowledgedAt ?? '-'}, resolved ${r.resolvedAt ?? '-'}`);
      print(
        `  diagnostics: ${
          Object.keys(r.diagnostics)
            .filter((k) => k !== 'collectedAt')
            .join(', ') || '-'
        }`,
      );
      if (r.alert) {
        print(
          `  alert evidence: ${Object.keys(r.alert.labels).length} labels, ${Object.keys(r.alert.annotations).length} annotations, whole (--json shows them)`,
        );
        for (const note of r.alert.ignored ?? []) print(`  alert label ignored: ${note}`);
      }
      print('');
      print(r.postmortem ?? renderPostmortem(r));
    });

  incident
    .command('migrate')
    .description('create or update the incident tables (idempotent; the worker also applies them on first use)')
    .action(async () => {
      const ref = store(ctx);
      const applied = await withClient(ref.config, (c) => migrate(c, ref.schema));
      print(
        applied.length ? `applied ${applied.join(', ')} in schema ${ref.schema}` : `schema ${ref.schema} is up to date`,
      );
    });

  /** A people's verb on a running incident: its signal takes the options given (and the text of a note). */
  const verb = (
    name: string,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a signal of any argument list
    signal: SignalDefinition<any[]>,
    description: string,
    options = ['--by <name>', '--note <text>'],
    text = false,
  ) => {
    const c = incident.command(name).description(description).argument('<id>', 'INC-… id or workflow id');
    if (text) c.argument('<text>');
    options.forEach((o) => c.option(o));
    c.action(async (id: string, ...rest: unknown[]) => {
      const command = rest.at(-1) as Command;
      const workflowId = await workflowIdOf(ctx, id);
      const client = await ctx.temporal();
      const opts = command.opts();
      await client.workflow.getHandle(workflowId).signal(signal, text ? { text: command.args[1], ...opts } : opts);
      print(`${signal.name} sent to ${workflowId}`);
    });
  };
  verb('ack', acknowledgeSignal, 'acknowledge: stops escalation, you become the owner');
  verb('resolve', resolveSignal, 'resolve: PagerDuty resolve, resolution message, postmortem');
  verb('escalate', escalateSignal, 'escalate to the next level now');
  verb('approve', approveSignal, 'approve the destructive step waiting (or --step)', ['--step <id>', '--by <name>']);
  verb('note', noteSignal, 'add a note to the timeline', ['--by <name>'], true);
}
