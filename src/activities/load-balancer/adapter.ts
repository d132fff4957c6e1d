import { ApplicationFailure } from '@temporalio/activity';

/** A server's administrative state, as HAProxy names it (nginx knows only up and `down`). */
export type ServerState = 'ready' | 'drain' | 'maint';

export interface SplitRequest {
  old: string;
  new: string;
  /** Percent of traffic for the new server, 0–100. */
  newPercent: number;
  /** Cohorts routed to the new server, where the LB can (HTTP API); others ignore it. */
  targetUsers?: string[];
}

/** What the LB itself says after a change: the only thing a rollout believes. */
export interface SplitReading {
  newPercent: number;
  weights: Record<string, number>;
  targetUsers?: string[];
}

/**
 * The one interface the rollout needs of a load balancer. Adding an LB is adding one adapter;
 * the workflow never knows which kind it drives.
 */
export interface LoadBalancerAdapter {
  readonly kind: string;
  /** Whether `targetUsers` is honoured (cohort routing), rather than ignored. */
  readonly supportsCohorts: boolean;
  /** Fails non-retryably naming the first server the LB does not know. Reads only. */
  checkServers(servers: string[]): Promise<void>;
  setSplit(req: SplitRequest): Promise<void>;
  readSplit(old: string, next: string): Promise<SplitReading>;
  setServerState(server: string, state: ServerState): Promise<void>;
  readServerState(server: string): Promise<ServerState>;
}

/** The error no retry can fix: the LB does not know this backend or server. */
export function unknownServer(lb: string, what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`load balancer "${lb}" has no ${what}`, 'UnknownLoadBalancerServer');
}

/** Percent of the new server from two weights (0 when both are 0: nothing goes to new). */
export function percentOf(oldWeight: number, newWeight: number): number {
  const total = oldWeight + newWeight;
  return total === 0 ? 0 : Math.round((newWeight / total) * 1000) / 10;
}
