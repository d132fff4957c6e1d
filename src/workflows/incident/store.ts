// The incident in PostgreSQL: the id reserved before any row is written under it, then the record
// and its new timeline entries saved in the background, so a store outage never delays the response.
// Since INCIDENT_ACTS_BEFORE_STORE the store is optional: without one, or when it refuses the
// record, the incident goes on from its history and status and says so.
import * as wf from '@temporalio/workflow';
import { storelessIncidentId } from '../../domain/incident/incident';
import { failureMessage, isNonRetryable } from '../common/failure';
import { withSummary } from '../common/progress';
import { acts, storeOptions } from './activities';
import { inBackground, type IncidentRun } from './run';

/** Changes in flight are stopped and people paged without waiting for the store, which is optional. */
export const INCIDENT_ACTS_BEFORE_STORE = 'opsflow-incident-acts-before-store';
/** Without a store the id takes a suffix of its own (runs recorded before keep the plain id they showed). */
const INCIDENT_STORELESS_ID = 'opsflow-incident-storeless-id';

/**
 * 'pending' until the store has been asked for the id; 'unreserved' when it could not answer;
 * 'none' when there is no store to write to (not configured, or it refused the record).
 */
type IdState = 'pending' | 'reserved' | 'unreserved' | 'none';

export class IncidentStore {
  private idState: IdState = 'pending';
  private finished = false;
  private readonly saving: Promise<void>;
  private reserving: Promise<void> = Promise.resolve();

  /** Starts the saver at once; it writes nothing before the id is settled. */
  constructor(
    private readonly run: IncidentRun,
    /** The store is optional and its failures are the record's, not the run's (the patch). */
    private readonly optional = false,
  ) {
    this.saving = inBackground(this.optional ? this.saveOrGiveUp() : this.saveWhileOpen());
    if (optional) {
      run.storeSettled = () => wf.condition(() => this.idState !== 'pending');
      run.storeless = () => this.idState === 'none';
    }
  }

  private reservation() {
    const { state, workflowId, runId, input } = this.run;
    return { openedAt: state.record.openedAt, workflowId, runId, incident: state.snapshot(), alert: input.alert };
  }

  /** Reserves the incident's id (another incident may hold that second); an unreachable store is retried later. */
  async reserveId(): Promise<void> {
    const { state } = this.run;
    const missing = this.optional ? this.run.plan.storeMissing : undefined;
    if (missing) {
      this.idState = 'none';
      this.ownId();
      this.givenUp(missing, 'skipped');
      return;
    }
    try {
      state.record.id = await acts.reserveIncidentId.executeWithOptions(
        {
          startToCloseTimeout: '20s',
          retry: { maximumAttempts: 3, initialInterval: '1s' },
          summary: `reserve incident id ${state.record.id}`,
        },
        [this.reservation()],
      );
      this.idState = 'reserved';
    } catch (err) {
      if (isNonRetryable(err)) {
        if (!this.optional) throw err;
        this.idState = 'none';
        this.ownId();
        this.givenUp(
          `incident store refused the record (${failureMessage(err)}): this incident is kept only in its workflow history and status`,
          'failed',
        );
        return;
      }
      this.idState = 'unreserved';
      const problem = `incident store unreachable (${failureMessage(err)}); continuing as ${state.record.id}, the record is written when it answers`;
      if (this.optional) state.storeProblem = problem;
      state.add(this.optional ? 'store' : 'opened', problem, 'failed');
    }
    this.run.publish();
    state.dirty = true;
  }

  /** The reservation runs beside the response (stop, page, runbook); finish() waits for it. */
  reserveIdBeside(): void {
    this.reserving = inBackground(this.reserveId());
  }

  /** Everything is on the timeline: the saver writes what is left and stops. */
  async finish(): Promise<void> {
    this.finished = true;
    await this.reserving;
    await this.saving;
  }

  /**
   * No store hands out `-2`, `-3` for a second another incident took: the id takes a suffix from the
   * run chain instead (storelessIncidentId). Taken before the change is stopped and the page sent
   * when the store is missing, so they name it; after a refused reservation, later messages do.
   */
  private ownId(): void {
    if (!wf.patched(INCIDENT_STORELESS_ID)) return;
    const { workflowId, firstExecutionRunId } = wf.workflowInfo();
    const { record } = this.run.state;
    record.id = storelessIncidentId(new Date(record.openedAt), `${workflowId}/${firstExecutionRunId}`);
  }

  private givenUp(problem: string, outcome: 'skipped' | 'failed'): void {
    this.run.state.storeProblem = problem;
    this.run.state.add('store', problem, outcome);
    this.run.publish();
  }

  /** The saver of runs with an optional store: a refusal ends the saving, never the incident. */
  private async saveOrGiveUp(): Promise<void> {
    try {
      await this.saveWhileOpen();
    } catch (err) {
      if (wf.isCancellation(err) || !isNonRetryable(err)) throw err;
      this.idState = 'none';
      this.givenUp(
        `incident store refused the record (${failureMessage(err)}): the rest of this incident is kept only in its workflow history and status`,
        'failed',
      );
    }
  }

  private async saveWhileOpen(): Promise<void> {
    const { state, runId } = this.run;
    // Never write a row under an id before it is ours.
    await wf.condition(() => this.idState !== 'pending');
    if (this.idState === 'none') return;
    if (this.idState === 'unreserved') {
      state.record.id = await acts.reserveIncidentId.executeWithOptions(
        withSummary(storeOptions, `reserve incident id ${state.record.id} (retry)`),
        [this.reservation()],
      );
      this.idState = 'reserved';
      if (this.optional && state.storeProblem) {
        state.storeProblem = undefined;
        state.add('store', `incident store answers again: the record is stored as ${state.record.id}`, 'ok');
      }
      this.run.publish();
    }
    for (;;) {
      await wf.condition(() => state.dirty || this.finished);
      if (!state.dirty) return;
      const events = state.takeUnsaved();
      await acts.saveIncident.executeWithOptions(
        withSummary(storeOptions, `store ${state.record.id} (+${events.length} timeline entries)`),
        [{ incident: state.snapshot(), runId, events }],
      );
    }
  }
}
