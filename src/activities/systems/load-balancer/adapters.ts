import { ApplicationFailure } from '@temporalio/activity';
import type { OpsflowConfig } from '../../../config/schema';
import type { LoadBalancerConfig } from '../../../config/sections/load-balancers';
import type { LoadBalancerAdapter } from './adapter';
import { haproxyAdapter } from './haproxy';
import { nginxAdapter } from './nginx';
import { httpApiAdapter } from './http-api';

/** The adapter of a configured LB; adding a kind of LB is one case here and one file. */
export function adapterFor(name: string, cfg: LoadBalancerConfig): LoadBalancerAdapter {
  switch (cfg.type) {
    case 'haproxy':
      return haproxyAdapter(name, cfg);
    case 'nginx':
      return nginxAdapter(name, cfg);
    case 'http-api':
      return httpApiAdapter(name, cfg);
  }
}

export function lookupLoadBalancer(config: OpsflowConfig, name: string): LoadBalancerAdapter {
  const cfg = config.loadBalancers[name];
  if (!cfg)
    throw ApplicationFailure.nonRetryable(
      `unknown load balancer "${name}" (not in config.loadBalancers)`,
      'UnknownLoadBalancer',
    );
  return adapterFor(name, cfg);
}
