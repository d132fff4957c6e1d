import { counterIncrease, perSecond, ratePercent, summarize, type Summary } from './statistics';
import {
  cpuThreshold,
  errorRateThreshold,
  memoryThreshold,
  responseTimeThreshold,
  type Minimums,
  type Threshold,
  type ThresholdMetric,
} from './thresholds';

/**
 * What one tick of one group records (stored raw in PostgreSQL, never in history), and how a
 * group's stored ticks become its statistics and thresholds. Pure, so the activity and the tests
 * compute a baseline the same way.
 */

export type GroupKind = 'host' | 'http' | 'postgres' | 'redis';

interface HostSample {
  cpuPercent: number;
  memoryPercent: number;
  /** Bytes per second read and written by the host's disks; absent when the OS does not say. */
  diskReadBytesPerSec?: number;
  diskWriteBytesPerSec?: number;
}
export interface HttpSample {
  /** Latency of every request of the tick, failed ones included (what a user would have waited). */
  latenciesMs: number[];
  requests: number;
  errors: number;
}
export interface PostgresSample {
  connections: number;
  databaseSizeBytes: number;
  /** Cumulative counters of pg_stat_database; the hit ratio is their growth over the window. */
  blksHit: number;
  blksRead: number;
}
export interface RedisSample {
  clients: number;
  usedMemoryBytes: number;
  /** Cumulative counters of INFO stats. */
  keyspaceHits: number;
  keyspaceMisses: number;
}
export type RawSample = HostSample | HttpSample | PostgresSample | RedisSample;

/** One group of a baseline, as stored and returned: counts, statistics, rates, thresholds. */
export interface GroupBaseline {
  group: string;
  kind: GroupKind;
  /** Ticks recorded. */
  samples: number;
  statistics: Record<string, Summary | undefined>;
  /** Rates in percent or per second; undefined where nothing was counted. */
  rates: Record<string, number | undefined>;
  requests?: number;
  errors?: number;
  thresholds: Partial<Record<ThresholdMetric, Threshold>>;
}

const pick = <T>(samples: readonly T[], f: (s: T) => number | undefined) =>
  samples.map(f).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));

/** The summary of each of the `fields` of the ticks. */
const summaries = <T>(s: readonly T[], fields: (keyof T)[]) =>
  Object.fromEntries(fields.map((f) => [f, summarize(pick(s, (x) => x[f] as number | undefined))]));

/** A hit ratio from two cumulative counters; a rate needs as many lookups as a request rate does. */
function hitRatio<T>(s: readonly T[], hits: keyof T, misses: keyof T, m: Minimums): number | undefined {
  const h = counterIncrease(pick(s, (x) => x[hits] as number));
  const total = h + counterIncrease(pick(s, (x) => x[misses] as number));
  return total >= m.requests ? ratePercent(h, total) : undefined;
}

/** A group's baseline from its stored ticks (in tick order) over `windowMs` of sampling. */
export function summarizeGroup(
  group: string,
  kind: GroupKind,
  samples: readonly RawSample[],
  windowMs: number,
  m: Minimums,
): GroupBaseline {
  const base = { group, kind, samples: samples.length };
  switch (kind) {
    case 'host': {
      const s = samples as HostSample[];
      const cpu = pick(s, (x) => x.cpuPercent);
      const memory = pick(s, (x) => x.memoryPercent);
      return {
        ...base,
        statistics: summaries(s, ['cpuPercent', 'memoryPercent', 'diskReadBytesPerSec', 'diskWriteBytesPerSec']),
        rates: {},
        thresholds: { cpuPercent: cpuThreshold(cpu, m), memoryPercent: memoryThreshold(memory, m) },
      };
    }
    case 'http': {
      const s = samples as HttpSample[];
      const latencies = s.flatMap((x) => x.latenciesMs);
      const requests = s.reduce((a, x) => a + x.requests, 0);
      const errors = s.reduce((a, x) => a + x.errors, 0);
      return {
        ...base,
        requests,
        errors,
        statistics: { responseTimeMs: summarize(latencies) },
        rates: {
          errorRatePercent: requests >= m.requests ? ratePercent(errors, requests) : undefined,
          throughputPerSecond: perSecond(requests - errors, windowMs),
        },
        thresholds: {
          p95Ms: responseTimeThreshold(latencies, m),
          errorRatePercent: errorRateThreshold(errors, requests, m),
        },
      };
    }
    case 'postgres': {
      const s = samples as PostgresSample[];
      return {
        ...base,
        statistics: summaries(s, ['connections', 'databaseSizeBytes']),
        rates: { cacheHitRatioPercent: hitRatio(s, 'blksHit', 'blksRead', m) },
        thresholds: {},
      };
    }
    case 'redis': {
      const s = samples as RedisSample[];
      return {
        ...base,
        statistics: summaries(s, ['clients', 'usedMemoryBytes']),
        rates: { keyspaceHitRatePercent: hitRatio(s, 'keyspaceHits', 'keyspaceMisses', m) },
        thresholds: {},
      };
    }
  }
}
