import type { WorkflowExecutionInfo } from '@temporalio/client';
import { OpsflowPhase, OpsflowService, OpsflowState, OpsflowStep } from '../domain/search-attributes';
import { findWorkflow } from './registry';
import { UsageError } from './cli-context';

/** `opsflow list`'s filters, each by a workflow's own name for it. */
export interface ListFilters {
  type?: string;
  service?: string;
  /** The run's own state word: OpsflowState, or OpsflowPhase for workflows that keep a phase. */
  state?: string;
  /** Temporal's execution status: running, completed, failed, canceled, terminated, timed-out, continued-as-new. */
  status?: string;
  /** A visibility query ANDed with the filters. */
  query?: string;
}

const statuses: Record<string, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  canceled: 'Canceled',
  cancelled: 'Canceled',
  terminated: 'Terminated',
  'timed-out': 'TimedOut',
  'continued-as-new': 'ContinuedAsNew',
};

/** A value in a visibility query; one that could end the quoted string is refused, never read as query syntax. */
function literal(v: string, flag: string): string {
  if (/['"\\]/.test(v)) throw new UsageError(`${flag}: a name without quotes or backslashes`);
  return `'${v}'`;
}

/** The visibility query the filters mean; the type may be given by its CLI alias. */
export function listQuery(f: ListFilters): string | undefined {
  const parts: string[] = [];
  if (f.type) {
    const entry = findWorkflow(f.type);
    if (!entry) throw new UsageError(`--type: unknown workflow "${f.type}"`);
    parts.push(`WorkflowType = ${literal(entry.type, '--type')}`);
  }
  if (f.service) parts.push(`${OpsflowService.name} = ${literal(f.service, '--service')}`);
  // A rollout, cutover or incident says its state in OpsflowState; the others in OpsflowPhase.
  if (f.state) {
    const v = literal(f.state, '--state');
    parts.push(`(${OpsflowState.name} = ${v} OR ${OpsflowPhase.name} = ${v})`);
  }
  if (f.status) {
    const s = statuses[f.status.toLowerCase()];
    if (!s)
      throw new UsageError(
        `--status: one of ${Object.keys(statuses)
          .filter((k) => k !== 'cancelled')
          .join(', ')}`,
      );
    parts.push(`ExecutionStatus = '${s}'`);
  }
  if (f.query) parts.push(`(${f.query})`);
  return parts.length ? parts.join(' AND ') : undefined;
}

export interface RunRow {
  workflowId: string;
  type: string;
  service: string;
  state: string;
  step: string;
  status: string;
  started: string;
  closed: string;
}

const keyword = (w: WorkflowExecutionInfo, key: { name: string }) => {
  const v = w.typedSearchAttributes.get(key as never) as unknown;
  return typeof v === 'string' && v ? v : '-';
};
const shortTime = (d?: Date) =>
  d
    ? d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '-';

export function runRow(w: WorkflowExecutionInfo): RunRow {
  return {
    workflowId: w.workflowId,
    type: findWorkflow(w.type)?.alias ?? w.type,
    service: keyword(w, OpsflowService),
    state: keyword(w, OpsflowState) !== '-' ? keyword(w, OpsflowState) : keyword(w, OpsflowPhase),
    step: keyword(w, OpsflowStep),
    status: w.status.name.toLowerCase().replace(/_/g, '-'),
    started: shortTime(w.startTime),
    closed: shortTime(w.closeTime),
  };
}

const columns: Array<[keyof RunRow, string]> = [
  ['workflowId', 'WORKFLOW ID'],
  ['type', 'TYPE'],
  ['service', 'SERVICE'],
  ['status', 'STATUS'],
  ['state', 'STATE'],
  ['step', 'STEP'],
  ['started', 'STARTED'],
  ['closed', 'CLOSED'],
];

/** Rows as an aligned table with a header, as `kubectl get` prints: one run per line. */
export function formatRuns(rows: RunRow[]): string {
  const table = [columns.map(([, h]) => h), ...rows.map((r) => columns.map(([k]) => r[k]))];
  const widths = columns.map((_, i) => Math.max(...table.map((line) => line[i].length)));
  return table
    .map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '))
    .join('\n');
}
