import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporalCliPath } from '../../scripts/temporal-binaries';

export const historiesDir = join(__dirname, '../replay/histories');

/** The JSON form of one history event, as `temporal workflow show --output json` writes it. */
interface HistoryEvent {
  eventType: string;
  workflowExecutionStartedEventAttributes?: {
    continuedExecutionRunId?: string;
    originalExecutionRunId?: string;
    workflowType?: { name?: string };
  };
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  workflowExecutionContinuedAsNewEventAttributes?: { newExecutionRunId?: string };
  workflowExecutionSignaledEventAttributes?: { signalName?: string };
  markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: Payload[] }> };
  timerStartedEventAttributes?: unknown;
  userMetadata?: { summary?: Payload };
  upsertWorkflowSearchAttributesEventAttributes?: { searchAttributes?: { indexedFields?: Record<string, Payload> } };
  workflowExecutionUpdateAcceptedEventAttributes?: { acceptedRequest?: { input?: { name?: string } } };
}

/** A JSON-encoded payload as the history's JSON form writes it (its data in base64). */
interface Payload {
  data?: string;
}

interface RecordedRun {
  runId: string;
  events: HistoryEvent[];
}

/**
 * One recorded workflow: its id (the events do not name it, and a workflow may read its own id) and
 * every run of its continue-as-new chain, first to last — a later run's history starts from the
 * state its predecessor carried, so signals and decisions of earlier runs are only in theirs.
 */
export interface RecordedChain {
  workflowId: string;
  runs: RecordedRun[];
}

const CONTINUED = 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW';
const CLOSED = ['COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'TIMED_OUT'].map(
  (s) => `EVENT_TYPE_WORKFLOW_EXECUTION_${s}`,
);

const started = (run: RecordedRun) => run.events[0]?.workflowExecutionStartedEventAttributes;

/**
 * What makes a recording incomplete, in words (empty when it is whole): no workflow id, a chain
 * that does not start with a first run, a run missing between two, or a last run still open.
 */
export function chainProblems(chain: Partial<RecordedChain>): string[] {
  const problems: string[] = [];
  if (typeof chain.workflowId !== 'string' || chain.workflowId === '') problems.push('no workflowId');
  const runs = chain.runs;
  if (!Array.isArray(runs) || runs.length === 0)
    return [...problems, 'no runs (a file of the old single-history form?)'];
  runs.forEach((run, i) => {
    const start = started(run);
    if (!start) return problems.push(`run ${i}: does not begin with its start event`);
    if (start.originalExecutionRunId !== run.runId)
      problems.push(`run ${i}: its start event names run ${start.originalExecutionRunId}, not ${run.runId}`);
    const last = run.events[run.events.length - 1].eventType;
    if (i === 0 && start.continuedExecutionRunId)
      problems.push(`run 0 continues ${start.continuedExecutionRunId}: the runs before it are missing`);
    if (i > 0 && start.continuedExecutionRunId !== runs[i - 1].runId)
      problems.push(`run ${i} does not continue run ${i - 1}`);
    if (i < runs.length - 1) {
      const next = run.events[run.events.length - 1].workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (last !== CONTINUED || next !== runs[i + 1].runId)
        problems.push(`run ${i} does not end by continuing as run ${i + 1}`);
    } else if (!CLOSED.includes(last)) {
      problems.push(
        `the last run ends with ${last}: ${last === CONTINUED ? 'the runs after it are missing' : 'it had not closed'}`,
      );
    }
  });
  return problems;
}

export function readChain(file: string): RecordedChain {
  return JSON.parse(readFileSync(join(historiesDir, file), 'utf8')) as RecordedChain;
}

/** The workflow type a recording is a history of, from its first run's start event. */
export function workflowTypeOf(chain: RecordedChain): string | undefined {
  return started(chain.runs[0])?.workflowType?.name;
}

/** The names of the signals a recorded workflow received, over all its runs, in order. */
export function signalsOf(chain: RecordedChain): string[] {
  return chain.runs.flatMap((r) =>
    r.events.flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []),
  );
}

const events = (chain: RecordedChain) => chain.runs.flatMap((r) => r.events);
const decoded = (p: Payload | undefined): unknown =>
  p?.data === undefined ? undefined : JSON.parse(Buffer.from(p.data, 'base64').toString('utf8'));

/**
 * The ids of the patches a recorded workflow took, over all its runs (or only those it recorded as
 * deprecated): a history recorded to cover a patched path must hold that patch's marker, or it
 * replays the old path only.
 */
export function patchesOf(chain: RecordedChain, which: 'any' | 'deprecated' = 'any'): string[] {
  return events(chain).flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_patch') return [];
    return Object.values(m.details ?? {}).flatMap((d) =>
      (d.payloads ?? []).flatMap((p) => {
        const patch = decoded(p) as { id?: string; deprecated?: boolean } | undefined;
        return which === 'any' || patch?.deprecated ? [patch?.id ?? ''] : [];
      }),
    );
  });
}

/** The types of the activities it scheduled, in order. */
export function activitiesOf(chain: RecordedChain): string[] {
  return events(chain).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
}

/** The summaries of its timers (what its waits showed in the Web UI), in order. */
export function timerSummariesOf(chain: RecordedChain): string[] {
  return events(chain).flatMap((e) =>
    e.timerStartedEventAttributes && e.userMetadata?.summary ? [String(decoded(e.userMetadata.summary))] : [],
  );
}

/** Every value it upserted for the search attribute `name`, in order. */
export function searchAttributeValuesOf(chain: RecordedChain, name: string): unknown[] {
  return events(chain).flatMap((e) => {
    const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    return fields && name in fields ? [decoded(fields[name])] : [];
  });
}

/** The names of the Updates it accepted, in order. */
export function updatesOf(chain: RecordedChain): string[] {
  return events(chain).flatMap(
    (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? [],
  );
}

/**
 * With OPSFLOW_RECORD_HISTORIES=1, an e2e or workflow-tier test saves the history of a run for the
 * replay tests: `OPSFLOW_RECORD_HISTORIES=1 npx jest <file>` (one file at a time on a shared
 * machine), then commit test/replay/histories/. The workflow tier records the paths that need
 * hours of timers or many hand-overs (its activities are stand-ins; the commands are the same). Every run of the workflow's latest continue-as-new
 * chain is saved, found by walking back from the latest run along `continuedExecutionRunId`; the
 * recording is refused unless the chain is whole and closed. Call it once the workflow has closed.
 */
export function recordHistory(address: string, workflowId: string, name: string): void {
  if (process.env.OPSFLOW_RECORD_HISTORIES !== '1') return;
  const cli = temporalCliPath();
  if (!cli) throw new Error('recording histories needs the temporal CLI (npm run setup)');
  const show = (runId?: string): HistoryEvent[] =>
    JSON.parse(
      execFileSync(
        cli,
        [
          'workflow',
          'show',
          '--address',
          address,
          '--workflow-id',
          workflowId,
          ...(runId ? ['--run-id', runId] : []),
          '--output',
          'json',
        ],
        { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
      ),
    ).events;
  const runs: RecordedRun[] = [];
  let events = show();
  // Bounded: a chain longer than this is not something a test records.
  for (let i = 0; i < 1000; i++) {
    const start = events[0]?.workflowExecutionStartedEventAttributes;
    if (!start?.originalExecutionRunId)
      throw new Error(`${workflowId}: a history that does not begin with its start event`);
    runs.unshift({ runId: start.originalExecutionRunId, events });
    if (!start.continuedExecutionRunId) break;
    events = show(start.continuedExecutionRunId);
  }
  const chain: RecordedChain = { workflowId, runs };
  const problems = chainProblems(chain);
  if (problems.length) throw new Error(`not recording ${name} (${workflowId}): ${problems.join('; ')}`);
  mkdirSync(historiesDir, { recursive: true });
  writeFileSync(join(historiesDir, `${name}.json`), JSON.stringify(chain, null, 2) + '\n');
}
