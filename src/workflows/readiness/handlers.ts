// Why: every handler of the readiness gate wired in one place: the `status` query, the `signOff`
// and `waive` Updates (validated against the checklist before they are accepted), `recheck`, and
// the operator's `abort` (close the gate now, not ready).
import * as wf from '@temporalio/workflow';
import { signOffInput, waiveInput, type SignOffInput, type WaiveInput } from '../../domain/readiness/input';
import { formatIssues } from '../../domain/validation';
import { OperatorControls } from '../common/operator-controls';
import type { ReadinessRun, ReadinessStatus } from './state';

export const statusQuery = wf.defineQuery<ReadinessStatus>('status');
export const signOffUpdate = wf.defineUpdate<ReadinessStatus, [SignOffInput]>('signOff');
export const waiveUpdate = wf.defineUpdate<ReadinessStatus, [WaiveInput]>('waive');
/** Re-runs the named automated items (all of them when none is named). */
export const recheckSignal = wf.defineSignal<[{ items?: string[]; by?: string }?]>('recheck');

function parsed<T>(schema: { safeParse(x: unknown): { success: true; data: T } | { success: false; error: Parameters<typeof formatIssues>[0] } }, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(formatIssues(r.error));
  return r.data;
}

export interface GateEvents {
  /** Something changed the verdict's inputs: re-evaluate. */
  onChange(): void;
  onRecheck(items: string[] | undefined, by?: string): void;
  onAbort(reason: string): void;
}

export function installHandlers(run: ReadinessRun, events: GateEvents): OperatorControls {
  const controls = new OperatorControls();
  wf.setHandler(statusQuery, () => run.status);
  wf.setHandler(
    signOffUpdate,
    (raw) => {
      run.signOff(parsed(signOffInput, raw), new Date().toISOString());
      // The caller gets the verdict its sign-off made.
      run.evaluate(Date.now());
      events.onChange();
      return run.status;
    },
    { validator: (raw) => run.validateSignOff(parsed(signOffInput, raw)) },
  );
  wf.setHandler(
    waiveUpdate,
    (raw) => {
      run.waive(parsed(waiveInput, raw), Date.now());
      run.evaluate(Date.now());
      events.onChange();
      return run.status;
    },
    { validator: (raw) => run.validateWaiver(parsed(waiveInput, raw), Date.now()) },
  );
  wf.setHandler(recheckSignal, (req) => {
    const unknown = (req?.items ?? []).filter((id) => !run.automated().some((i) => i.id === id));
    if (unknown.length) {
      run.decide(`recheck of ${unknown.join(', ')} ignored: not automated items of this checklist`);
      return;
    }
    events.onRecheck(req?.items, req?.by);
  });
  controls.install(['abort'], (event) => {
    run.decide(event.text);
    events.onAbort(controls.abortMessage('while the gate was open') ?? 'aborted');
  }, { status: () => run.status });
  controls.reportUnknownSignals([recheckSignal.name, 'abort'], (text) => run.decide(text));
  return controls;
}
