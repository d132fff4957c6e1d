import { formatDuration } from '../duration';
import type { GroupBaseline } from './samples';
import { isSufficient, type Minimums, type Threshold } from './thresholds';

/** A finished (or cut-short) baseline: what is stored, returned as JSON and rendered for people. */
export interface Baseline {
  service: string;
  workflowId: string;
  runId: string;
  window: { start: string; end: string; durationMs: number; intervalMs: number };
  /** False when the window was cut short (cancelled) or a group missed ticks: no gate uses it unless told to. */
  complete: boolean;
  /** Why it is partial, in words. */
  partial?: string;
  minimums: Minimums;
  groups: GroupBaseline[];
}

/** Ticks a group should have recorded over its window. */
export const expectedTicks = (durationMs: number, intervalMs: number) =>
  Math.max(1, Math.floor(durationMs / intervalMs));

const num = (n: number | undefined, digits = 1) =>
  n === undefined ? '—' : (Math.round(n * 10 ** digits) / 10 ** digits).toLocaleString('en-US');
const threshold = (t: Threshold | undefined, unit: string) =>
  t === undefined
    ? '—'
    : isSufficient(t)
      ? `${num(t.warning)} ${unit} / ${num(t.critical)} ${unit}` +
        (t.computed
          ? ` (clamped to 100 %: the rule gave ${num(t.computed.warning)} ${unit} / ${num(t.computed.critical)} ${unit}; the window ran near saturation, and a level at 100 % never fires: set it by hand)`
          : '')
      : `insufficient data (${t.insufficient})`;
const units: Record<string, string> = { cpuPercent: '%', memoryPercent: '%', p95Ms: 'ms', errorRatePercent: '%' };

/** The readable report (Markdown) of a baseline: window, evidence per group, thresholds. */
export function renderBaselineReport(b: Baseline): string {
  const lines = [
    `# Performance baseline: ${b.service}${b.complete ? '' : ' (PARTIAL)'}`,
    '',
    `Window ${b.window.start} → ${b.window.end} (${formatDuration(b.window.durationMs)}, a sample every ${formatDuration(b.window.intervalMs)}); ` +
      `minimums: ${b.minimums.samples} samples, ${b.minimums.requests} requests.`,
  ];
  if (b.partial)
    lines.push('', `**Partial:** ${b.partial}. A gate does not use a partial baseline unless explicitly told to.`);
  for (const g of b.groups) {
    lines.push(
      '',
      `## ${g.group}`,
      '',
      `${g.samples} samples${g.requests === undefined ? '' : `, ${g.requests} requests, ${g.errors} errors`}.`,
      '',
    );
    lines.push('| metric | mean | median | σ | p95 | p99 | min | max |', '|---|---|---|---|---|---|---|---|');
    for (const [name, s] of Object.entries(g.statistics)) {
      lines.push(
        s
          ? `| ${name} | ${num(s.mean)} | ${num(s.median)} | ${num(s.stdev)} | ${num(s.p95)} | ${num(s.p99)} | ${num(s.min)} | ${num(s.max)} |`
          : `| ${name} | no data |||||||`,
      );
    }
    const rates = Object.entries(g.rates);
    if (rates.length)
      lines.push('', rates.map(([k, v]) => `${k}: ${v === undefined ? 'insufficient data' : num(v, 2)}`).join('; '));
    const th = Object.entries(g.thresholds);
    if (th.length)
      lines.push(
        '',
        '| threshold | warning / critical |',
        '|---|---|',
        ...th.map(([k, t]) => `| ${k} | ${threshold(t, units[k] ?? '')} |`),
      );
  }
  return lines.join('\n');
}
