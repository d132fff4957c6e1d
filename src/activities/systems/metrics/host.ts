import type { MetricReading } from '../../../domain/gate/evaluate';
import { hostSnapshot } from '../host/resources';

/** CPU and memory of the worker's host; a failure to read is inconclusive, not a pass. */
export async function sampleHost(name: string): Promise<MetricReading[]> {
  try {
    const snap = await hostSnapshot();
    return [
      { metric: 'cpuPercent', source: name, value: snap.cpuPercent },
      { metric: 'memoryPercent', source: name, value: snap.memoryPercent },
    ];
  } catch (err) {
    const inconclusive = `cannot read host resources: ${(err as Error).message}`;
    return [
      { metric: 'cpuPercent', source: name, inconclusive },
      { metric: 'memoryPercent', source: name, inconclusive },
    ];
  }
}
