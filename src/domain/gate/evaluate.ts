import { z } from 'zod';
import { nonNegative } from '../fields';

/**
 * The numbers a health gate (a rollout's, a cutover batch's) can judge. Every one is "bad when above
 * the maximum", which keeps the evaluation one rule: value > max fails.
 */
export const metricNames = [
  'errorRatePercent',
  'responseTimeMs',
  'p95Ms',
  'p99Ms',
  'cpuPercent',
  'memoryPercent',
  'complaints',
] as const;
export const metricName = z.enum(metricNames);
export type MetricName = (typeof metricNames)[number];

export const metricUnits: Record<MetricName, string> = {
  errorRatePercent: '%',
  responseTimeMs: 'ms',
  p95Ms: 'ms',
  p99Ms: 'ms',
  cpuPercent: '%',
  memoryPercent: '%',
  /** User complaints counted since a cutover batch started (runbooks §3: more than 10 roll back). */
  complaints: 'complaints',
};

/** Maximum per gated metric. */
export const gateThresholds = z.partialRecord(metricName, nonNegative);
export type GateThresholds = z.infer<typeof gateThresholds>;

/** runbooks §1 `check_health_status`: error rate > 5 %, response time > 3000 ms, CPU > 80 %, memory > 85 %. */
export const defaultGate: GateThresholds = {
  errorRatePercent: 5,
  responseTimeMs: 3000,
  cpuPercent: 80,
  memoryPercent: 85,
};

/** One number read from one source; `inconclusive` says why there is no usable number. */
export interface MetricReading {
  metric: MetricName;
  source: string;
  value?: number;
  inconclusive?: string;
}

export interface Sample {
  /** ISO time the sample was taken (from the activity, for people; decisions never use it). */
  at: string;
  readings: MetricReading[];
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface GateFailure {
  metric: MetricName;
  source: string;
  value: number;
  max: number;
}

export interface GateResult {
  verdict: Verdict;
  failures: GateFailure[];
  inconclusive: { metric: MetricName; source: string; reason: string }[];
}

/**
 * Judges one sample. A failure anywhere fails the sample (it is a fact whatever else is missing).
 * A gated metric with no reading, an empty or non-finite value is inconclusive — never a pass:
 * the reference products passed gates on empty Prometheus results, and that is how bad releases
 * reached everyone.
 */
export function evaluateGate(gate: GateThresholds, sample: Sample): GateResult {
  const failures: GateFailure[] = [];
  const inconclusive: GateResult['inconclusive'] = [];
  for (const metric of metricNames) {
    const max = gate[metric];
    if (max === undefined) continue;
    const readings = sample.readings.filter((r) => r.metric === metric);
    if (readings.length === 0) inconclusive.push({ metric, source: '(none)', reason: 'no source reported it' });
    for (const r of readings) {
      if (r.inconclusive !== undefined || r.value === undefined || !Number.isFinite(r.value)) {
        inconclusive.push({ metric, source: r.source, reason: r.inconclusive ?? `not a number (${r.value})` });
      } else if (r.value > max) {
        failures.push({ metric, source: r.source, value: r.value, max });
      }
    }
  }
  const verdict: Verdict = failures.length > 0 ? 'fail' : inconclusive.length > 0 ? 'inconclusive' : 'pass';
  return { verdict, failures, inconclusive };
}

const round = (n: number) => Math.round(n * 100) / 100;

/** "errorRatePercent 12.5 % > 5 % (web-probe)" — what a rollback message and its failure say. */
export function describeFailure(f: GateFailure): string {
  const unit = metricUnits[f.metric];
  return `${f.metric} ${round(f.value)} ${unit} > ${f.max} ${unit} (${f.source})`;
}

export function describeGateResult(r: GateResult): string {
  if (r.verdict === 'pass') return 'pass';
  if (r.verdict === 'fail') return `fail: ${r.failures.map(describeFailure).join('; ')}`;
  return `inconclusive: ${r.inconclusive.map((i) => `${i.metric} (${i.source}): ${i.reason}`).join('; ')}`;
}
