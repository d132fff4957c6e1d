// Why: what a deploy or rollback knows about its fleet (each host's step and release, the batch,
// failures against the budget) as one status record with pure transitions, so the status query,
// the details in the UI and the tests read the same thing.
import { judgeBatch, type BudgetVerdict } from '../../domain/deploy/plan';
import { failedHostsText, type FailedHost } from '../../domain/deploy/failed-hosts';
import { appendBounded } from '../common/decision-log';
import type { Actor, OperatorCarry } from '../common/operator-carry';
import { approvalWaitText, pausedText } from '../../domain/operator-commands';
import type { DeployCarry, DeployPhase, DeployStatus, FleetRollback, HostState, HostStatus } from './status';

const LOG_MAX = 200;
/** The phases a deploy or rollback ends in: a pause no longer holds it. */
const endPhases: readonly DeployPhase[] = ['done', 'stopped', 'failed', 'cancelled'];

export class DeployRun {
  readonly status: DeployStatus;
  private fleet?: FleetRollback;

  /** Made before the first await (so the status query and signals are there from the start); `planned` adds the fleet. */
  constructor(init: {
    kind: DeployStatus['kind'];
    service: string;
    ref?: string;
    budget: { batch: number; fleet: number };
  }) {
    this.status = {
      kind: init.kind,
      service: init.service,
      ref: init.ref,
      phase: init.kind === 'deploy' ? 'resolving' : 'deploying',
      batches: [],
      batch: 0,
      hosts: {},
      migrations: 'none',
      failures: { fleet: 0, budget: init.budget },
      runs: 1,
      log: [],
    };
  }

  /** The run a continued one picks up: the status as it was, a copy so the two never share. */
  static resume(carried: DeployCarry): DeployRun {
    const r = new DeployRun({
      kind: carried.status.kind,
      service: carried.status.service,
      ref: carried.status.ref,
      budget: carried.status.failures.budget,
    });
    Object.assign(r.status, structuredCloneJson(carried.status));
    // Carried by code that predates the counter: counted from the run it handed over.
    r.status.runs = (carried.status.runs ?? 1) + 1;
    if (carried.fleetRollback) {
      r.fleet = structuredCloneJson(carried.fleetRollback);
      r.note(
        `continued as new during the fleet rollback (${r.fleet.done.length}/${r.fleet.targets.length} hosts back)`,
      );
    } else r.note(`continued as new before batch ${carried.nextBatch + 1}/${carried.status.batches.length}`);
    return r;
  }

  /**
   * The state to continue with, next run starting at batch `nextBatch` (0-based); `targets` for a
   * rollback. A fleet rollback under way goes with it.
   */
  carry(nextBatch: number, operator: OperatorCarry, targets?: Record<string, string>): DeployCarry {
    return {
      status: structuredCloneJson(this.status),
      nextBatch,
      operator,
      ...(targets ? { targets: { ...targets } } : {}),
      ...(this.fleet ? { fleetRollback: structuredCloneJson(this.fleet) } : {}),
    };
  }

  /** The fleet rollback carried into this run, if any: the reason the deploy stopped. */
  get fleetRollbackReason(): string | undefined {
    return this.fleet?.reason;
  }

  /**
   * A stopped deploy starts taking its upgraded hosts back (`rollbackFleetOnFailure`); the
   * targets are fixed here. A rollback already under way (carried) is kept as it is.
   */
  startFleetRollback(reason: string): void {
    this.status.phase = 'rolling-back-fleet';
    if (this.fleet) return;
    const targets = this.upgraded().map((host) => ({ host, release: this.status.hosts[host].previous! }));
    this.fleet = { reason, targets, done: [] };
    this.note(
      `rolling back the fleet: ${targets.length ? targets.map((t) => `${t.host} to ${t.release}`).join(', ') : 'no host was upgraded'}`,
    );
  }

  /** Upgraded hosts still to take back, in order, with the release each goes back to. */
  fleetRollbackLeft(): { host: string; release: string }[] {
    const fleet = this.fleet;
    return fleet ? fleet.targets.filter((t) => !fleet.done.includes(t.host)) : [];
  }

  /** A host's rollback saga ended: a continued run does not take it back again. */
  fleetHostBack(host: string): void {
    if (this.fleet && !this.fleet.done.includes(host)) this.fleet.done.push(host);
  }

  planned(batches: string[][], migrations: boolean): void {
    this.status.batches = batches;
    this.status.hosts = Object.fromEntries(batches.flat().map((h) => [h, { state: 'pending' as HostState }]));
    this.status.migrations = migrations ? 'pending' : 'none';
  }

  note(text: string): void {
    appendBounded(this.status.log, text, LOG_MAX);
  }

  resolved(commit: string, release: string): void {
    this.status.commit = commit;
    this.status.release = release;
    this.status.phase = 'deploying';
    this.note(`${this.status.ref} is ${commit}; release ${release}`);
  }

  setPhase(phase: DeployPhase): void {
    this.status.phase = phase;
  }

  /** The operator's pause as the status says it (undefined `by`: not paused). */
  setPaused(paused: boolean, by?: Actor): void {
    if (paused) this.status.paused = true;
    else delete this.status.paused;
    if (paused && by) this.status.pausedBy = by;
    else delete this.status.pausedBy;
  }

  /** Paused, and the run has not ended whatever the pause. */
  get pauseHolds(): boolean {
    return this.status.paused === true && !endPhases.includes(this.status.phase);
  }

  host(name: string, change: Partial<HostStatus>): void {
    this.status.hosts[name] = { ...this.status.hosts[name], ...change };
  }

  migrated(): void {
    this.status.migrations = 'ran';
    this.note('migrations ran');
  }

  startBatch(i: number): void {
    this.status.batch = i + 1;
    this.status.phase = 'deploying';
    this.note(`batch ${i + 1}/${this.status.batches.length}: ${this.status.batches[i].join(', ')}`);
  }

  /**
   * Counts the batch's failed hosts and judges them against the budget. A host in `flapped` had a
   * release that passed and then failed its health check: that is the release's fault, not the
   * host's, so the deploy stops whatever the budget. The reason names every failed host so far,
   * its step and the first line of its cause.
   */
  endBatch(i: number, failed: string[], flapped: string[] = []): BudgetVerdict {
    this.status.failures.fleet += failed.length;
    const fleetSize = this.status.batches.flat().length;
    let verdict = judgeBatch(
      { failed: failed.length, size: this.status.batches[i].length },
      { failed: this.status.failures.fleet, size: fleetSize },
      this.status.failures.budget,
    );
    if (!verdict.stop && flapped.length > 0)
      verdict = {
        stop: true,
        reason: `the release flapped on ${flapped.join(', ')} (passed, then failed its health check): a flapping release stops the deploy whatever the budget`,
      };
    if (verdict.stop) {
      const hosts = this.failedHosts();
      const reason = hosts.length
        ? `${verdict.reason}: ${failedHostsText(this.status.service, hosts)}`
        : verdict.reason!;
      verdict = { stop: true, reason };
      this.status.stopReason = reason;
      this.note(`stopping: ${reason}`);
    }
    return verdict;
  }

  /** Hosts that failed so far (put back or not), each with its step and cause. */
  failedHosts(): FailedHost[] {
    return Object.entries(this.status.hosts)
      .filter(([, h]) => (h.state === 'rolled-back' || h.state === 'compensation-failed') && h.error !== undefined)
      .map(([host, h]) => ({ host, step: h.step, error: h.error! }));
  }

  /** Hosts this run moved to the new release (the ones a fleet rollback takes back). */
  upgraded(): string[] {
    return Object.entries(this.status.hosts)
      .filter(([, h]) => h.state === 'done' && h.previous !== undefined && h.previous !== h.release)
      .map(([n]) => n);
  }

  /** The run waits for a person's approve of `what` (undefined: it waits no longer). */
  awaitApproval(what: string | undefined): void {
    if (what === undefined) delete this.status.awaitingApproval;
    else this.status.awaitingApproval = what;
  }

  /** What the run waits on a person for, with the command that answers it; undefined when nobody. */
  waitingOn(workflowId: string): string | undefined {
    const status = this.status;
    if (status.awaitingApproval !== undefined) return approvalWaitText(status.awaitingApproval, workflowId);
    if (this.pauseHolds) return pausedText(workflowId, status.pausedBy);
    return undefined;
  }

  /** Markdown for the Web UI's current details; with the run's id, what it waits on and the command. */
  details(workflowId?: string): string {
    const status = this.status;
    const waiting = workflowId === undefined ? undefined : this.waitingOn(workflowId);
    const lines = [
      `**${status.kind} ${status.service}**${status.commit ? ` at \`${status.commit.slice(0, 12)}\`` : ''} — ${status.phase}${status.batch ? `, batch ${status.batch}/${status.batches.length}` : ''}${status.runs > 1 ? ` (run ${status.runs})` : ''}`,
      `failures: ${status.failures.fleet} (budget ${status.failures.budget.batch} % per batch, ${status.failures.budget.fleet} % fleet); migrations: ${status.migrations}`,
      ...Object.entries(status.hosts).map(
        ([n, h]) => `- ${n}: ${h.state}${h.release ? ` → ${h.release}` : ''}${h.error ? ` (${h.error})` : ''}`,
      ),
    ];
    if (waiting) lines.push(`**${waiting}**`);
    if (status.stopReason) lines.push(`stopped: ${status.stopReason}`);
    return lines.join('\n');
  }
}

function structuredCloneJson<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
