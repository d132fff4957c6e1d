// Why: every handler of the go-live wired in one place: `status`, and the operator signals, which
// act on the go-live itself between stages (approve the next stage, hold, stop) and are passed on
// to the running child (a rollout's own pause, abort with rollback, approval of its steps).
import * as wf from '@temporalio/workflow';
import { abortSignal, approveSignal, operatorSignalNames, pauseSignal, reportUnknownSignals, resumeSignal, type OperatorInput, type OperatorSignal } from '../common/operator-controls';
import type { StageName } from '../../domain/go-live/input';
import { childAbortInput, type GoLiveRun, type GoLiveStatus } from './state';

export const statusQuery = wf.defineQuery<GoLiveStatus>('status');
const signals = { approve: approveSignal, pause: pauseSignal, resume: resumeSignal, abort: abortSignal };

/** The operator's say over the go-live itself; the child has its own. */
export class GoLiveControls {
  approved = new Set<StageName>();
  aborted?: string;
  /** The running child, to pass signals on to. */
  child?: { stage: StageName; handle: wf.ChildWorkflowHandle<wf.Workflow> };
  /** The stage whose approval is awaited now: a bare approve is for it. */
  awaiting?: StageName;

  constructor(private readonly run: GoLiveRun) {}

  install(onChange: () => void): void {
    wf.setHandler(statusQuery, () => this.run.status);
    for (const name of ['approve', 'pause', 'resume', 'abort'] as OperatorSignal[]) {
      wf.setHandler(signals[name], async (input?: OperatorInput) => {
        this.apply(name, input ?? {});
        onChange();
        const child = this.child;
        if (child) {
          this.run.decide(`${name} passed on to ${child.stage} (${this.run.stage(child.stage).workflowId})`);
          await child.handle.signal(signals[name], name === 'abort' ? childAbortInput(child.stage, input ?? {}) : (input ?? {}));
        }
      });
    }
    reportUnknownSignals(operatorSignalNames, (text) => this.run.decide(text));
  }

  private apply(name: OperatorSignal, input: OperatorInput): void {
    const by = input.by ? ` by ${input.by}` : '';
    if (name === 'approve') {
      const stage = (typeof input.step === 'string' ? input.step : undefined) ?? this.awaiting;
      if (stage && !this.child) {
        this.approved.add(stage as StageName);
        this.run.decide(`${stage} approved${by}`);
      }
    } else if (name === 'pause') {
      this.run.status.paused = true;
      this.run.decide(`paused${by}${input.reason ? `: ${input.reason}` : ''}`);
    } else if (name === 'resume') {
      this.run.status.paused = false;
      this.run.decide(`resumed${by}`);
    } else {
      this.aborted ??= `aborted${by}${input.reason ? `: ${input.reason}` : ''}`;
      this.run.decide(this.aborted);
    }
  }
}

