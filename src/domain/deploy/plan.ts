import type { Serial } from './input';

/** Hosts per batch for a fleet of `fleet` hosts: a percentage rounds down but is never below 1 (Ansible). */
export function batchSize(serial: Serial, fleet: number): number {
  if (fleet < 1) return 0;
  const n = typeof serial === 'number' ? serial : Math.floor((fleet * parseFloat(serial)) / 100);
  return Math.min(fleet, Math.max(1, n));
}

/** The hosts in batches, in the order given. */
export function planBatches(hosts: readonly string[], serial: Serial): string[][] {
  const size = batchSize(serial, hosts.length);
  const out: string[][] = [];
  for (let i = 0; i < hosts.length; i += size) out.push(hosts.slice(i, i + size));
  return out;
}

/** Share of failed hosts, in percent. */
function failedPercent(failed: number, total: number): number {
  return total === 0 ? 0 : (failed / total) * 100;
}

export interface BudgetVerdict {
  stop: boolean;
  /** Why the deploy stops, for the status and the notification. */
  reason?: string;
}

/**
 * After a batch: stop when its failures are above the batch budget, or when the failures so far
 * are above the fleet budget. "Above": a budget of 0 % stops on the first failure, 100 % never.
 */
export function judgeBatch(
  batch: { failed: number; size: number },
  fleet: { failed: number; size: number },
  max: { batch: number; fleet: number },
): BudgetVerdict {
  const b = failedPercent(batch.failed, batch.size);
  if (b > max.batch)
    return {
      stop: true,
      reason: `${batch.failed} of ${batch.size} hosts failed in the batch (${round(b)} % > budget ${max.batch} %)`,
    };
  const f = failedPercent(fleet.failed, fleet.size);
  if (f > max.fleet)
    return {
      stop: true,
      reason: `${fleet.failed} of ${fleet.size} hosts failed in the fleet (${round(f)} % > budget ${max.fleet} %)`,
    };
  return { stop: false };
}

const round = (n: number) => Math.round(n * 10) / 10;
