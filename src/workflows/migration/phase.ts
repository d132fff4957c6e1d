// Why: a migration's phase is seen in three places (its status, its search attributes, its details)
// that must always agree, at every change and at an ending outside the copy's own handling.
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { Ending } from '../common/ending';
import type { Progress } from '../common/progress';
import { OpsflowMigration, OpsflowPhase } from '../../domain/search-attributes';
import type { MigrationState } from './state';
import type { MigrationPhase } from './status';

export class PhaseTracker {
  constructor(
    private readonly state: MigrationState,
    private readonly progress: Progress,
    private readonly name: string,
  ) {}

  enter(phase: MigrationPhase): void {
    this.state.enter(phase);
    this.progress.update(this.attributes());
  }

  /** The details only (a batch of chunks done, a continued run starting). */
  show(): void {
    this.progress.show();
  }

  /**
   * For `RunEnding.onEnd`: a run ended outside the copy's own handling (the log could not be
   * opened, a dry run's checks failed) is left failed or cancelled, so OpsflowPhase='failed' finds
   * it. No words go before the reason: like the copy's own failures, the message starts with the field.
   */
  ended({ kind, message }: Ending): void {
    if (!this.state.endedBy(kind, message)) return;
    this.progress.end(this.attributes());
  }

  private attributes(): SearchAttributeUpdatePair[] {
    return [
      { key: OpsflowMigration, value: this.name },
      { key: OpsflowPhase, value: this.state.phase },
    ];
  }
}
