// The incident in PostgreSQL: the id reserved before any row is written under it, then the record
// and its new timeline entries saved in the background, so a store outage never delays the response.
import * as wf from '@temporalio/workflow';
import { failureMessage, isNonRetryable } from '../common/failure';
import { withSummary } from '../common/progress';
import { acts, inBackground, storeOptions, type IncidentRun } from './run';

/** 'pending' until the store has been asked for the id; 'unreserved' when it could not answer. */
type IdState = 'pending' | 'reserved' | 'unreserved';

export class IncidentStore {
  private idState: IdState = 'pending';
  private finished = false;
  private readonly saving: Promise<void>;

  /** Starts the saver at once; it writes nothing before the id is settled. */
  constructor(private readonly run: IncidentRun) {
    this.saving = inBackground(this.saveWhileOpen());
  }

  private reservation() {
    const { state, workflowId, runId, input } = this.run;
    return { openedAt: state.record.openedAt, workflowId, runId, incident: state.snapshot(), alert: input.alert };
  }

  /** Reserves the incident's id (another incident may hold that second); an unreachable store is retried later. */
  async reserveId(): Promise<void> {
    const { state } = this.run;
    try {
      state.record.id = await acts.reserveIncidentId.executeWithOptions(
        { startToCloseTimeout: '20s', retry: { maximumAttempts: 3, initialInterval: '1s' }, summary: `reserve incident id ${state.record.id}` },
        [this.reservation()],
      );
      this.idState = 'reserved';
    } catch (err) {
      if (isNonRetryable(err)) throw err;
      this.idState = 'unreserved';
      state.add('opened', `incident store unreachable (${failureMessage(err)}); continuing as ${state.record.id}, the record is written when it answers`, 'failed');
    }
    this.run.publish();
    state.dirty = true;
  }

  /** Everything is on the timeline: the saver writes what is left and stops. */
  async finish(): Promise<void> {
    this.finished = true;
    await this.saving;
  }

  private async saveWhileOpen(): Promise<void> {
    const { state, runId } = this.run;
    // Never write a row under an id before it is ours.
    await wf.condition(() => this.idState !== 'pending');
    if (this.idState === 'unreserved') {
      state.record.id = await acts.reserveIncidentId.executeWithOptions(withSummary(storeOptions, `reserve incident id ${state.record.id} (retry)`), [this.reservation()]);
      this.run.publish();
    }
    for (;;) {
      await wf.condition(() => state.dirty || this.finished);
      if (!state.dirty) return;
      const events = state.takeUnsaved();
      await acts.saveIncident.executeWithOptions(withSummary(storeOptions, `store ${state.record.id} (+${events.length} timeline entries)`), [
        { incident: state.snapshot(), runId, events },
      ]);
    }
  }
}
