import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { OpsflowConfig } from '../../../config/schema';
import type { MetricSourceConfig, ProbeSourceConfig } from '../../../config/sections/metric-sources';
import {
  evaluateGate,
  describeGateResult,
  type GateThresholds,
  type MetricReading,
  type Sample,
} from '../../../domain/gate/evaluate';
import { sequentialDecision, type Observation } from '../../../domain/gate/sequential';
import { probePauseMs } from '../../../domain/gate/probe';
import { probeBurst, probeReadings } from './probe';

export interface WatchArgs {
  service: string;
  sources: string[];
  /** The gate the rollout judges by: what the sequential test and the repeated reads look for. */
  gate: GateThresholds;
  /** The sample interval: how long a healthy watch lasts. */
  durationMs: number;
}

/** A sample taken by watching an interval: the readings, and how the watch went. */
export interface WatchedSample extends Sample {
  watchedMs: number;
  /** Probe requests answered while watching. */
  requests: number;
  /** Why the watch ended before the interval did: the conclusive evidence. */
  early?: string;
  /** The watch went on past the interval because a probe had too few answers. */
  extended?: boolean;
}

/** Sources other than a probe are read this often while watching; one failing this many reads in a row ends the watch. */
const POLL_EVERY_MS = 5_000;
const FAILED_READS_IN_A_ROW = 3;

interface ProbeState {
  name: string;
  cfg: ProbeSourceConfig;
  observations: Observation[];
  sent: number;
  unanswered: number;
  lastError: string;
}

function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/**
 * Watches the sources for one sample interval. Probes send a burst, pause (`pauseMs`, at most a
 * tenth of the interval: probePauseMs), and send again; after
 * every burst the sequential test (domain/gate/sequential.ts) says whether the failure is
 * conclusive, and if so the watch ends at once with the stretch of requests that is the evidence.
 * Other sources are read every POLL_EVERY_MS, and a source failing the gate on
 * FAILED_READS_IN_A_ROW reads in a row ends it too. A healthy interval is watched to its end, then
 * every source is read once more. A probe with too few answers by then gets one more interval
 * (extended); still too few, its readings are inconclusive and the rollout's policy holds.
 * Read-only, so a retry only watches again.
 */
export async function watchMetrics(
  config: OpsflowConfig,
  args: WatchArgs,
  sampleSource: (name: string, cfg: MetricSourceConfig) => Promise<MetricReading[]>,
): Promise<WatchedSample> {
  const signal = cancellationSignal();
  const started = Date.now();
  let end = started + args.durationMs;
  let extended = false;
  const cfgs = args.sources.map((name) => [name, config.metricSources[name]] as const);
  const probes: ProbeState[] = cfgs.flatMap(([name, cfg]) =>
    cfg.type === 'probe' ? [{ name, cfg, observations: [], sent: 0, unanswered: 0, lastError: '' }] : [],
  );
  const others = cfgs.filter(([, cfg]) => cfg.type !== 'probe');
  const failedReads = new Map<string, number>();
  let nextPoll = started + POLL_EVERY_MS;
  const done = (readings: MetricReading[], early?: string): WatchedSample => ({
    at: new Date().toISOString(),
    readings,
    watchedMs: Date.now() - started,
    requests: probes.reduce((n, p) => n + p.observations.length, 0),
    ...(early ? { early } : {}),
    ...(extended ? { extended } : {}),
  });
  const fullReadings = (p: ProbeState) =>
    probeReadings(p.name, p.cfg, p.observations, p.sent, p.unanswered, p.lastError);
  const notRead = (why: string) =>
    others.flatMap(([name]) =>
      Object.keys(args.gate).map((metric) => ({
        metric: metric as MetricReading['metric'],
        source: name,
        inconclusive: why,
      })),
    );

  for (;;) {
    if (signal?.aborted) throw new CancelledFailure('the watch was cancelled');
    const poll = others.length > 0 && Date.now() >= nextPoll;
    const [, polled] = await Promise.all([
      Promise.all(
        probes.map(async (p) => {
          const b = await probeBurst(p.cfg, signal);
          p.observations.push(...b.observations);
          p.sent += p.cfg.requests;
          p.unanswered += b.unanswered;
          if (b.lastError) p.lastError = b.lastError;
        }),
      ),
      poll
        ? Promise.all(others.map(async ([name, cfg]) => [name, await sampleSource(name, cfg)] as const))
        : Promise.resolve([]),
    ]);
    if (poll) nextPoll = Date.now() + POLL_EVERY_MS;

    for (const p of probes) {
      const d = sequentialDecision(p.observations, args.gate, {
        minRequests: p.cfg.minRequests,
        confidence: p.cfg.confidence,
      });
      if (d.decision !== 'fail') continue;
      const { from, to, metric, value, max } = d.evidence;
      const stretch = p.observations.slice(from, to + 1);
      const readings = [
        ...probeReadings(p.name, p.cfg, stretch, stretch.length, 0, ''),
        ...probes.filter((q) => q !== p).flatMap(fullReadings),
        ...notRead(`not read: ${p.name}'s failure was conclusive first`),
      ];
      return done(
        readings,
        `${p.name}: ${metric} ${value} > ${max} over the last ${stretch.length} requests, conclusive at ${p.cfg.confidence} confidence`,
      );
    }
    for (const [name, readings] of polled) {
      const result = evaluateGate(args.gate, { at: '', readings: readings.filter((r) => r.value !== undefined) });
      const inRow = result.verdict === 'fail' ? (failedReads.get(name) ?? 0) + 1 : 0;
      failedReads.set(name, inRow);
      if (inRow >= FAILED_READS_IN_A_ROW) {
        const rest = [
          ...probes.flatMap(fullReadings),
          ...others
            .filter(([n]) => n !== name)
            .flatMap(([n]) =>
              notRead(`not read: ${name}'s failure was conclusive first`).filter((r) => r.source === n),
            ),
        ];
        return done(
          [...readings, ...rest],
          `${name}: ${describeGateResult(result)} on ${inRow} reads in a row, ${POLL_EVERY_MS / 1000} s apart`,
        );
      }
    }

    if (Date.now() >= end) {
      const tooFew = probes.some((p) => p.observations.length < p.cfg.minRequests);
      if (!tooFew || extended) break;
      extended = true;
      end += args.durationMs;
    }
    const pause = Math.min(
      Math.min(
        ...probes.map((p) => probePauseMs(p.cfg.pauseMs, args.durationMs)),
        others.length ? POLL_EVERY_MS : Infinity,
      ),
      end - Date.now(),
    );
    if (pause > 0) await sleep(pause, undefined, signal ? { signal } : {}).catch(() => undefined);
  }
  const finals = await Promise.all(others.map(([name, cfg]) => sampleSource(name, cfg)));
  return done([...probes.flatMap(fullReadings), ...finals.flat()]);
}
