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
  /** The new server's share of what the LB will send: only a ready server with a weight takes traffic. */
  newPercent: number;
  /** Each server's weight as the LB reports it, in percent (nginx: 0 for a `down` member). */
  weights: Record<string, number>;
  /** Each server's administrative state: a drained or maintained server takes nothing, whatever its weight. */
  states: Record<string, ServerState>;
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
  /**
   * Asks the LB itself what it knows, reading only: fails non-retryably naming the first server it
   * does not know, or the access it refuses (a wrong token), so a rollout fails before it moves traffic.
   */
  checkServers(servers: string[]): Promise<void>;
  /** The whole wanted state: both weights, and every server that is to take traffic ready. */
  setSplit(req: SplitRequest): Promise<void>;
  /** Refuses (retryably) a reading in which neither server takes traffic: that is an outage, not a split. */
  readSplit(old: string, next: string): Promise<SplitReading>;
  setServerState(server: string, state: ServerState): Promise<void>;
  readServerState(server: string): Promise<ServerState>;
}

/** The error no retry can fix: the LB does not know this backend or server. */
export function unknownServer(lb: string, what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`load balancer "${lb}" has no ${what}`, 'UnknownLoadBalancerServer');
}

/** The weights a split request wants, in percent: new gets it, old the rest. */
export function wantedWeights(req: SplitRequest): Record<string, number> {
  return { [req.old]: 100 - req.newPercent, [req.new]: req.newPercent };
}

/**
 * The reading of two servers from what the LB reports. The share counts only servers that take
 * traffic (ready, weight above 0); when neither does, every request fails, and a reading of
 * "0 % new" would hide that: it is refused instead.
 */
export function splitReading(
  lb: string,
  old: string,
  next: string,
  weights: Record<string, number>,
  states: Record<string, ServerState>,
): SplitReading {
  const serving = (s: string) => (states[s] === 'ready' ? weights[s] : 0);
  const total = serving(old) + serving(next);
  if (!(total > 0))
    throw ApplicationFailure.retryable(
      `load balancer "${lb}" reads back no server taking traffic: ${describeServers([old, next], weights, states)} (a full outage, not a split)`,
      'NoServerServing',
    );
  return {
    newPercent: Math.round((serving(next) / total) * 1000) / 10,
    weights: { [old]: weights[old], [next]: weights[next] },
    states: { [old]: states[old], [next]: states[next] },
  };
}

/**
 * What differs between a read-back and the wanted split, empty when the LB says exactly what was
 * asked: each server's weight, and each server that is to take traffic ready. Checking the new
 * server alone would accept a rollback that also took the old one out.
 */
export function splitMismatches(req: SplitRequest, reading: SplitReading): string[] {
  const want = wantedWeights(req);
  const out: string[] = [];
  for (const s of [req.old, req.new]) {
    if (reading.weights[s] !== want[s]) out.push(`${s} weight ${reading.weights[s]} (wanted ${want[s]})`);
    if (want[s] > 0 && reading.states[s] !== 'ready')
      out.push(`${s} is ${reading.states[s]} (wanted ready, to take ${want[s]} %)`);
  }
  if (out.length === 0 && reading.newPercent !== req.newPercent)
    out.push(`${req.new} takes ${reading.newPercent} % (wanted ${req.newPercent} %)`);
  return out;
}

function describeServers(
  servers: string[],
  weights: Record<string, number>,
  states: Record<string, ServerState>,
): string {
  return servers.map((s) => `${s} weight ${weights[s]} ${states[s]}`).join(', ');
}
