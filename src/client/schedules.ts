import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
  type ScheduleSpec,
} from '@temporalio/client';
import type { OpsflowConfig } from '../config/schema';
import { defaultSchedules, type ScheduleConfig } from '../config/sections/schedules';
import { ValidationError } from '../config/errors';
import { findWorkflow } from './registry';
import { checkInputNames, validateInput } from './input';
import { TASK_QUEUE } from './connection';

/** Marks schedules that opsflow manages, so `apply --prune` deletes only its own. */
const MANAGED_MEMO = 'opsflowManaged';

const overlapPolicy: Record<ScheduleConfig['overlap'], ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_one: ScheduleOverlapPolicy.BUFFER_ONE,
  buffer_all: ScheduleOverlapPolicy.BUFFER_ALL,
  cancel_other: ScheduleOverlapPolicy.CANCEL_OTHER,
  terminate_other: ScheduleOverlapPolicy.TERMINATE_OTHER,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
};

function configuredSchedules(config: OpsflowConfig): Record<string, ScheduleConfig> {
  return config.schedules ?? defaultSchedules;
}

function spec(s: ScheduleConfig): ScheduleSpec {
  return s.every
    ? { intervals: [{ every: s.every }], timezone: s.timezone }
    : { cronExpressions: s.cron, timezone: s.timezone };
}

/**
 * The full schedule options of one configured schedule; its input is checked like a CLI start,
 * names included, against the config that holds the schedule.
 */
export function scheduleOptions(
  id: string,
  s: ScheduleConfig,
  config: OpsflowConfig,
  taskQueue = TASK_QUEUE,
  configName = 'the config',
): ScheduleOptions {
  const entry = findWorkflow(s.workflow);
  if (!entry) throw new ValidationError(`schedule ${id}`, `schedules.${id}.workflow: unknown workflow "${s.workflow}"`);
  const input = validateInput(entry, s.input ?? {});
  checkInputNames(entry, input, config, configName);
  return {
    scheduleId: id,
    spec: spec(s),
    action: {
      type: 'startWorkflow',
      workflowType: entry.type,
      taskQueue,
      workflowId: `${id}`,
      args: [input],
      staticSummary: `${entry.summary(input as never)} (schedule ${id})`,
    },
    policies: { overlap: overlapPolicy[s.overlap], catchupWindow: '1m' },
    state: { paused: s.paused, note: s.note ?? 'managed by opsflow schedules apply' },
    memo: { [MANAGED_MEMO]: true },
  };
}

export interface ApplyResult {
  created: string[];
  updated: string[];
  deleted: string[];
}

/** Creates or updates every configured schedule (idempotent); with prune, deletes opsflow's others. */
export async function applySchedules(
  client: Client,
  config: OpsflowConfig,
  opts: { prune?: boolean; taskQueue?: string; configName?: string } = {},
): Promise<ApplyResult> {
  const wanted = configuredSchedules(config);
  // Validate everything first: a bad entry must leave every schedule as it was.
  const all = Object.entries(wanted).map(([id, s]) => scheduleOptions(id, s, config, opts.taskQueue, opts.configName));
  const result: ApplyResult = { created: [], updated: [], deleted: [] };
  for (const options of all) {
    try {
      await client.schedule.create(options);
      result.created.push(options.scheduleId);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(options.scheduleId).update((prev) => ({
        ...prev,
        spec: options.spec,
        action: options.action,
        policies: { ...prev.policies, ...options.policies },
        state: { ...prev.state, paused: options.state?.paused ?? false, note: options.state?.note },
      }));
      result.updated.push(options.scheduleId);
    }
  }
  if (opts.prune) {
    for (const scheduleId of await staleSchedules(client, config)) {
      await client.schedule
        .getHandle(scheduleId)
        .delete()
        .catch((e) => {
          if (!(e instanceof ScheduleNotFoundError)) throw e;
        });
      result.deleted.push(scheduleId);
    }
  }
  return result;
}

/** Schedules that opsflow created (its memo) and the config no longer has: what `--prune` deletes. */
export async function staleSchedules(client: Client, config: OpsflowConfig): Promise<string[]> {
  const wanted = configuredSchedules(config);
  const stale: string[] = [];
  for await (const s of client.schedule.list()) {
    if (s.memo?.[MANAGED_MEMO] && !(s.scheduleId in wanted)) stale.push(s.scheduleId);
  }
  return stale;
}
