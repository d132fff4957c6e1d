// Why: every handler of the go-live wired in one place: `status`, and the common operator controls,
// which act on the go-live itself between stages (approve the next stage, hold, stop) and are
// passed on to the running child (a rollout's own pause, abort with rollback, approval of its steps).
import * as wf from '@temporalio/workflow';
import {
  OperatorControls,
  operatorSignals,
  type OperatorInput,
  type OperatorSignal,
} from '../common/operator-controls';
import { signalNames } from '../common/messages';
import type { StageName } from '../../domain/go-live/input';
import { childAbortInput, type GoLiveRun } from './state';
import { goLiveMessages, statusQuery } from './messages';

/** The operator's say over the go-live itself (the common controls); the child has its own. */
export class GoLiveControls {
  readonly controls = new OperatorControls();
  /** The running child, to pass actions on to. */
  child?: { stage: StageName; handle: wf.ChildWorkflowHandle<wf.Workflow> };

  constructor(private readonly run: GoLiveRun) {}

  /** A stage's approval number: its 1-based place among this go-live's stages. */
  stepOf(stage: StageName): number {
    return this.run.status.stages.findIndex((s) => s.stage === stage) + 1;
  }

  install(onChange: () => void): void {
    wf.setHandler(statusQuery, () => this.run.status);
    const stages = () => this.run.status.stages.map((s) => s.stage);
    this.controls.install(
      ['approve', 'pause', 'resume', 'abort'],
      (event) => {
        if (!event.passedOn) {
          this.controls.showPause(this.run.status);
          this.run.status.approvals = this.controls.approvalProgress();
          this.run.decide(this.words(event.signal, event.input));
        }
        onChange();
        const child = this.child;
        if (child) {
          this.run.decide(`${event.signal} passed on to ${child.stage} (${this.run.stage(child.stage).workflowId})`);
          const { at: _at, ...sent } = event.input;
          const input = event.signal === 'abort' ? childAbortInput(child.stage, sent) : sent;
          // The child's own validators do not answer here: a refused or lost signal is written down.
          child.handle
            .signal(operatorSignals[event.signal], input)
            .catch((err: unknown) =>
              this.run.decide(`${event.signal} not passed on to ${child.stage}: ${(err as Error).message}`),
            );
        }
      },
      {
        status: () => this.run.status,
        // `--step dataMigration` names a stage; a number is its place.
        stepOf: (step) =>
          typeof step === 'string' && stages().includes(step as StageName) ? this.stepOf(step as StageName) : step,
        // While a child runs, an approve is for its steps; a resume also ends its hold.
        appliesHere: (signal) => !(this.child && signal === 'approve'),
        refusal: (signal, input, standard) => {
          if (this.child && (signal === 'approve' || signal === 'resume') && !this.controls.aborted) return undefined;
          if (signal === 'approve' && typeof input.step === 'string')
            return `step: no stage "${input.step}" in this go-live (stages: ${stages().join(', ')})`;
          return standard;
        },
      },
    );
    this.controls.reportUnknownSignals(signalNames(goLiveMessages), (text) => this.run.decide(text));
  }

  /** The abort in words ("aborted by bob: bad numbers"), once one came. */
  get aborted(): string | undefined {
    const a = this.controls.aborted;
    return a && `aborted${a.by ? ` by ${a.by}` : ''}: ${a.reason}`;
  }

  private words(name: OperatorSignal, input: OperatorInput): string {
    const by = input.by ? ` by ${input.by}` : '';
    if (name === 'approve') {
      const stage =
        typeof input.step === 'number' ? this.run.status.stages[input.step - 1]?.stage : this.run.status.current;
      return `${stage ?? 'the next stage'} approved${by}`;
    }
    if (name === 'pause') return `paused${by}${input.reason ? `: ${input.reason}` : ''}`;
    if (name === 'resume') return `resumed${by}`;
    return `aborted${by}${input.reason ? `: ${input.reason}` : ''}`;
  }
}
