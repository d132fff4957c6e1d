import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * This machine's CPU, memory and disk as the kernel and `df` tell them, for comparing with what
 * opsflow's host readings report.
 */

/** Memory in use, not counting what the kernel can reclaim: (MemTotal - MemAvailable) / MemTotal. */
export function memoryPercentFromProc(): number {
  const info = readFileSync('/proc/meminfo', 'utf8');
  const kb = (field: string) => Number(info.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))![1]);
  return ((kb('MemTotal') - kb('MemAvailable')) / kb('MemTotal')) * 100;
}

export interface CpuTicks {
  busy: number;
  total: number;
}

/** The all-CPU line of /proc/stat: busy (user, nice, system, irq, softirq, steal) and total ticks. */
export function cpuTicks(): CpuTicks {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('cpu '))!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** The share of all CPUs busy between two readings, in percent. */
export function cpuPercentBetween(a: CpuTicks, b: CpuTicks): number {
  return ((b.busy - a.busy) / Math.max(1, b.total - a.total)) * 100;
}

/** Disk use of the filesystem mounted at `mount` as `df` counts it: used / (used + available). */
export function diskPercentFromDf(mount: string): number {
  const row = execFileSync('df', ['-kP', mount], { encoding: 'utf8' }).trim().split('\n')[1].split(/\s+/);
  const [used, available] = [Number(row[2]), Number(row[3])];
  return (used / (used + available)) * 100;
}

/** Keeps this process's thread busy for `ms`, so the CPU figure has something real to show. */
export function burnCpu(ms: number): void {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
}
