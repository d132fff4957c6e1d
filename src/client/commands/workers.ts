import type { Command } from 'commander';
import { CliContext, UsageError, print } from '../cli-context';
import { temporalSettings } from '../connection';
import {
  checkBuildId,
  describeDeployment,
  promoteVersion,
  rampVersion,
  type DeploymentStatus,
} from '../worker-deployment';

const meaning: Record<string, string> = {
  current: 'new runs and auto-upgrading runs go here',
  ramping: 'takes its share of new runs and auto-upgrading runs',
  draining: 'pinned runs still open on it: keep its workers',
  drained: 'no open run needs it: its workers may be stopped',
  inactive: 'never current or ramping',
};

export function formatDeploymentStatus(s: DeploymentStatus): string {
  const head =
    `deployment ${s.deploymentName}: current ${s.current ?? '(none)'}` +
    (s.ramping ? `, ramping ${s.ramping.buildId} at ${s.ramping.percent}%` : '');
  const width = Math.max(8, ...s.versions.map((v) => v.buildId.length));
  const rows = [...s.versions]
    .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''))
    .map((v) => {
      // A version that stopped being current is "draining" until the server has checked its pinned runs.
      const state = v.status === 'draining' || v.status === 'drained' ? (v.drainage ?? v.status) : v.status;
      return `  ${v.buildId.padEnd(width)}  ${state.padEnd(8)}  ${meaning[state] ?? ''}`.trimEnd();
    });
  return [head, ...rows].join('\n');
}

/**
 * `opsflow workers`: the worker versions of the deployment (OPSFLOW_WORKER_DEPLOYMENT), and moving
 * new runs onto a new build as a service's traffic is moved: ramp a share, then promote.
 */
export function registerWorkerCommands(program: Command, ctx: CliContext) {
  const workers = program
    .command('workers')
    .description('opsflow worker versions (Worker Deployment): status, ramp, promote');
  const target = async (opts: { deployment?: string }) => {
    const client = await ctx.temporal();
    const g = program.opts<{ address?: string; namespace?: string }>();
    const { namespace } = temporalSettings(process.env, { address: g.address, namespace: g.namespace });
    const name = opts.deployment ?? process.env.OPSFLOW_WORKER_DEPLOYMENT ?? 'opsflow';
    return { service: client.workflowService, namespace, name };
  };
  const deploymentOption = '--deployment <name>';
  const deploymentHelp = 'Worker Deployment name (default: $OPSFLOW_WORKER_DEPLOYMENT or opsflow)';

  workers
    .command('status')
    .description(
      'every version of the deployment: current, ramping, draining (pinned runs open) or drained (safe to stop)',
    )
    .option(deploymentOption, deploymentHelp)
    .option('--json', 'print the status as JSON')
    .action(async (opts: { deployment?: string; json?: boolean }) => {
      const t = await target(opts);
      const status = await describeDeployment(t.service, t.namespace, t.name);
      print(opts.json ? status : formatDeploymentStatus(status));
    });

  workers
    .command('ramp <build-id>')
    .description('send --percent of new runs to <build-id>, or --promote it to current')
    .option('--percent <n>', 'share of new runs (0-100) for the new build; the rest stay on the current one')
    .option('--promote', 'make <build-id> the current version (ends the ramp)')
    .option(deploymentOption, deploymentHelp)
    .action(async (buildId: string, opts: { percent?: string; promote?: boolean; deployment?: string }) => {
      if ((opts.percent === undefined) === !opts.promote)
        throw new UsageError('workers ramp: give exactly one of --percent <n> and --promote');
      checkBuildId(buildId, 'build-id');
      let percent: number | undefined;
      if (opts.percent !== undefined) {
        percent = Number(opts.percent);
        if (opts.percent.trim() === '' || !Number.isFinite(percent) || percent < 0 || percent > 100)
          throw new UsageError(`workers ramp: --percent must be a number from 0 to 100, got "${opts.percent}"`);
      }
      const t = await target(opts);
      if (percent !== undefined) await rampVersion(t.service, t.namespace, t.name, buildId, percent);
      else await promoteVersion(t.service, t.namespace, t.name, buildId);
      print(formatDeploymentStatus(await describeDeployment(t.service, t.namespace, t.name)));
    });
}
