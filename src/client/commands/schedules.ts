import type { Command } from 'commander';
import { CliContext, print } from '../cli-context';
import { applySchedules } from '../schedules';

/** `opsflow schedules apply|list|pause|unpause|trigger|delete`. */
export function registerScheduleCommands(program: Command, ctx: CliContext) {
  const schedules = program.command('schedules').description('Temporal Schedules from the config');

  schedules
    .command('apply')
    .description('create or update every schedule in the config (default: health-check every minute)')
    .option('--prune', 'also delete opsflow-managed schedules that the config no longer names')
    .action(async (opts: { prune?: boolean }) => {
      const config = ctx.config();
      const r = await applySchedules(await ctx.temporal(), config, { prune: opts.prune, configName: ctx.configName() });
      print(
        `schedules: created [${r.created.join(', ')}] updated [${r.updated.join(', ')}]${opts.prune ? ` deleted [${r.deleted.join(', ')}]` : ''}`,
      );
    });

  schedules.command('list').action(async () => {
    const client = await ctx.temporal();
    for await (const s of client.schedule.list()) {
      const d = await client.schedule.getHandle(s.scheduleId).describe();
      const next = d.info.nextActionTimes[0]?.toISOString() ?? '-';
      print(
        `${s.scheduleId}\t${d.action.type === 'startWorkflow' ? d.action.workflowType : '?'}\t${d.state.paused ? 'paused' : 'active'}\tnext ${next}`,
      );
    }
  });

  for (const [verb, what, done] of [
    ['pause', 'pause a schedule', 'paused'],
    ['unpause', 'resume a paused schedule', 'unpaused'],
    ['trigger', 'run a schedule now', 'triggered'],
    ['delete', 'delete a schedule', 'deleted'],
  ] as const) {
    schedules
      .command(verb)
      .description(what)
      .argument('<scheduleId>')
      .action(async (id: string) => {
        const handle = (await ctx.temporal()).schedule.getHandle(id);
        if (verb === 'pause') await handle.pause('paused with opsflow CLI');
        else if (verb === 'unpause') await handle.unpause('unpaused with opsflow CLI');
        else if (verb === 'trigger') await handle.trigger();
        else await handle.delete();
        print(`schedule ${id}: ${done}`);
      });
  }
}
