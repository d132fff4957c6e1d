import type { Command } from 'commander';
import { CliContext, print, UsageError } from '../cli-context';
import { baselineStoreRef, latestBaseline, type BaselineStore } from '../../activities/baseline/store';
import { renderBaselineReport } from '../../domain/baseline/baseline';

function store(ctx: CliContext): BaselineStore {
  try {
    return baselineStoreRef(ctx.config());
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `opsflow baseline show <service>`: the latest stored baseline (start one with `opsflow start baseline`). */
export function registerBaselineCommands(program: Command, ctx: CliContext) {
  const baseline = program
    .command('baseline')
    .description('performance baselines (runbooks §5): start one with `opsflow start baseline`');
  baseline
    .command('show')
    .description('the latest complete baseline of a service, as a report')
    .argument('<service>')
    .option('--json', 'the baseline as JSON')
    .option('--partial', 'the latest baseline even if partial (cut short or a group failed)')
    .action(async (service: string, o: { json?: boolean; partial?: boolean }) => {
      const b = await latestBaseline(store(ctx), service, o.partial);
      if (!b) {
        const why = o.partial ? '' : ' (complete ones only; --partial shows a partial one)';
        throw new UsageError(`no baseline of ${service} in the store${why}`);
      }
      print(o.json ? b : renderBaselineReport(b));
    });
}
