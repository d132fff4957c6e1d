import type { OpsflowConfig } from '../../../config/schema';
import { configTarget } from '../../config-target';
import { httpRouter } from './http';
import { redisRouter } from './redis';
import type { Router } from './router';

export type { Router };

/** The router an input names, for one service's routing data. */
export function openRouter(config: OpsflowConfig, name: string, service: string): Router {
  const d = configTarget(config.routers, 'routers', name);
  return d.type === 'redis' ? redisRouter(config, name, d, service) : httpRouter(name, d);
}
