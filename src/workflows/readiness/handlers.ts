// Why: every handler of the readiness gate wired in one place: the `status` query, the `signOff`,
// `waive` and `recheck` Updates (validated against the checklist before they are accepted), the
// `recheck` signal (its fire-and-forget form), and the operator's `abort` (close the gate now, not ready).
import * as wf from '@temporalio/workflow';
import { signOffInput, waiveInput } from '../../domain/readiness/input';
import { parsedMessage } from '../input';
import { OperatorControls } from '../common/operator-controls';
import { signalNames } from '../common/messages';
import type { ReadinessRun } from './state';
import {
  readinessMessages,
  recheckSignal,
  recheckUpdate,
  signOffUpdate,
  statusQuery,
  waiveUpdate,
  type RecheckInput,
} from './messages';

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
      run.signOff(parsedMessage(signOffInput, raw), new Date().toISOString());
      // The caller gets the verdict its sign-off made.
      run.evaluate(Date.now());
      events.onChange();
      return run.status;
    },
    { validator: (raw) => run.signOffRefusal(parsedMessage(signOffInput, raw)) },
  );
  wf.setHandler(
    waiveUpdate,
    (raw) => {
      run.waive(parsedMessage(waiveInput, raw), Date.now());
      run.evaluate(Date.now());
      events.onChange();
      return run.status;
    },
    { validator: (raw) => run.validateWaiver(parsedMessage(waiveInput, raw), Date.now()) },
  );
  wf.setHandler(recheckSignal, (req) => {
    const unknown = unknownItems(run, req);
    if (unknown.length) {
      run.decide(`recheck of ${unknown.join(', ')} ignored: not automated items of this checklist`);
      return;
    }
    events.onRecheck(req?.items, req?.by);
  });
  wf.setHandler(
    recheckUpdate,
    (req) => {
      events.onRecheck(req?.items?.length ? req.items : undefined, req?.by);
      return run.status;
    },
    {
      validator: (req) => {
        const unknown = unknownItems(run, req);
        if (unknown.length)
          throw new Error(
            `items: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not an automated item' : 'are not automated items'} of this checklist (automated: ${
              run
                .automated()
                .map((i) => i.id)
                .join(', ') || 'none'
            })`,
          );
        run.requireOpen();
      },
    },
  );
  controls.install(
    ['abort'],
    (event) => {
      run.decide(event.text);
      events.onAbort(controls.abortMessage('while the gate was open') ?? 'aborted');
    },
    { status: () => run.status },
  );
  controls.reportUnknownSignals(signalNames(readinessMessages), (text) => run.decide(text));
  return controls;
}

const unknownItems = (run: ReadinessRun, req?: RecheckInput) =>
  (req?.items ?? []).filter((id) => !run.automated().some((i) => i.id === id));
