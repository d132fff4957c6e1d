import { loadavg } from 'node:os';

/** The 1, 5 and 15 minute load averages, for a figure measured on a shared machine to name its load. */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
