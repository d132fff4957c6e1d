import type { OpsflowConfig } from '../../config/schema';
import type { SampledGroup } from '../../domain/baseline/input';
import type { RawSample } from '../../domain/baseline/samples';
import { configTarget } from '../config-target';
import { hostSnapshot } from '../systems/host/resources';
import { diskIo } from '../systems/host/disk-io';
import { probe } from '../systems/http/probe';
import { clientConfig } from '../systems/postgres/connect';
import { postgresStats } from '../systems/postgres/stats';
import { redisStats } from '../systems/redis/stats';

/** Takes one tick of a group. Rejects when the system could not be read (the tick is then missed). */
export type Sampler = () => Promise<RawSample>;

/**
 * The sampler of a group, its target resolved from config first: an unknown name fails at once,
 * non-retryably, instead of missing every tick of the window.
 */
export function samplerFor(config: OpsflowConfig, group: SampledGroup, requestsPerSample: number): Sampler {
  switch (group.kind) {
    case 'host':
      return async () => {
        const [snap, io] = await Promise.all([hostSnapshot(), diskIo()]);
        return {
          cpuPercent: snap.cpuPercent,
          memoryPercent: snap.memoryPercent,
          diskReadBytesPerSec: io.readBytesPerSec,
          diskWriteBytesPerSec: io.writeBytesPerSec,
        };
      };
    case 'http': {
      const target = configTarget(config.http, 'http', group.target!, `groups.http: ${group.target}`);
      // One after another: requests sent at once would queue behind each other and inflate the latencies measured.
      return async () => {
        const latenciesMs: number[] = [];
        let errors = 0;
        for (let i = 0; i < requestsPerSample; i++) {
          const r = await probe(target, { section: 'http', name: group.target!, field: 'groups.target' });
          latenciesMs.push(r.latencyMs);
          if (!r.ok) errors++;
        }
        return { latenciesMs, requests: requestsPerSample, errors };
      };
    }
    case 'postgres': {
      const cfg = clientConfig(
        group.target!,
        configTarget(config.postgres, 'postgres', group.target!, `groups.postgres: ${group.target}`),
        'groups.target',
      );
      return () => postgresStats(cfg);
    }
    case 'redis': {
      const target = configTarget(config.redis, 'redis', group.target!, `groups.redis: ${group.target}`);
      return () => redisStats(group.target!, target, 'groups.target');
    }
  }
}
