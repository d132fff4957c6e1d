import { ApplicationFailure, log } from '@temporalio/activity';
import type { OpsflowConfig } from '../../../config/schema';
import {
  splitMismatches,
  type LoadBalancerAdapter,
  type ServerState,
  type SplitReading,
  type SplitRequest,
} from './adapter';
import { lookupLoadBalancer } from './adapters';

export type { ServerState, SplitReading, SplitRequest } from './adapter';

export { lookupLoadBalancer } from './adapters';

export interface TrafficSplitArgs extends SplitRequest {
  lb: string;
}

/**
 * The load balancer's activities. Each states the wanted end state (never "add 10 %"), so running
 * one twice leaves the same state; each reads the LB back and fails (retryably) unless the LB says
 * what was asked. The incident response uses `setLoadBalancerServerState` to bring up backups.
 */
export function loadBalancerActivities(config: OpsflowConfig) {
  return {
    /** Sets new/old to newPercent/100-newPercent and returns the split the LB reads back. */
    async setTrafficSplit(args: TrafficSplitArgs): Promise<SplitReading> {
      const reading = await applySplit(args.lb, lookupLoadBalancer(config, args.lb), args);
      log.info('traffic split set', {
        lb: args.lb,
        newPercent: reading.newPercent,
        weights: reading.weights,
        states: reading.states,
      });
      return reading;
    },

    async readTrafficSplit(args: { lb: string; old: string; new: string }): Promise<SplitReading> {
      return lookupLoadBalancer(config, args.lb).readSplit(args.old, args.new);
    },

    /** ready / drain / maint one server, read back; e.g. drain the old system, activate a backup. */
    async setLoadBalancerServerState(args: { lb: string; server: string; state: ServerState }): Promise<ServerState> {
      const lb = lookupLoadBalancer(config, args.lb);
      await lb.setServerState(args.server, args.state);
      const now = await lb.readServerState(args.server);
      // nginx OSS knows no maint, only down: it reads back as drain, which is what maint means there.
      const ok = now === args.state || (args.state === 'maint' && lb.kind === 'nginx' && now === 'drain');
      if (!ok)
        throw ApplicationFailure.retryable(
          `load balancer "${args.lb}": ${args.server} reads back ${now} after setting ${args.state}`,
          'StateNotApplied',
        );
      return now;
    },
  };
}

/**
 * Sets a split and reads it back whole: both servers' weights and states, not only the new one's
 * share (a rollback that also took the old server out would read "0 % new"). Anything else is
 * retryable: setting the same split again is what fixes it.
 */
export async function applySplit(lbName: string, lb: LoadBalancerAdapter, args: SplitRequest): Promise<SplitReading> {
  await lb.setSplit(args);
  const reading = await lb.readSplit(args.old, args.new);
  const wrong = splitMismatches(args, reading);
  if (wrong.length)
    throw ApplicationFailure.retryable(
      `load balancer "${lbName}" reads back ${wrong.join(', ')} after setting ${args.new} ${args.newPercent} % / ${args.old} ${100 - args.newPercent} %`,
      'SplitNotApplied',
    );
  const wantUsers = (args.targetUsers ?? []).join(',');
  if (reading.targetUsers !== undefined && reading.targetUsers.join(',') !== wantUsers)
    throw ApplicationFailure.retryable(
      `load balancer "${lbName}" reads back target users [${reading.targetUsers.join(', ')}] after setting [${wantUsers}]`,
      'SplitNotApplied',
    );
  return reading;
}
