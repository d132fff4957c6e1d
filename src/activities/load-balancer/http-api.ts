import { request } from 'undici';
import { ApplicationFailure } from '@temporalio/activity';
import type { HttpApiLoadBalancerConfig } from '../../config/sections/load-balancers';
import { resolveSecret } from '../../config/secrets';
import { unknownServer, type LoadBalancerAdapter, type ServerState, type SplitReading } from './adapter';

interface ApiConfig {
  traffic_split?: Record<string, number>;
  target_users?: string[];
  server_states?: Record<string, ServerState>;
}

/**
 * The runbook's HTTP LB API: `POST <url>/api/config` with `Authorization: Bearer $LB_API_TOKEN` and
 * `{"traffic_split":{"new_system":10,"old_system":90},"target_users":["internal"]}`; `GET` the same
 * path reads it back. A POST states the whole wanted split, so repeating it is harmless. Server
 * states go through `POST <url>/api/servers/<name>/state {"state":"drain"}`.
 */
export function httpApiAdapter(name: string, cfg: HttpApiLoadBalancerConfig): LoadBalancerAdapter {
  const base = cfg.url.replace(/\/+$/, '');
  const known = (s: string) => {
    if (!cfg.servers.includes(s)) throw unknownServer(name, `server "${s}" (loadBalancers.${name}.servers: ${cfg.servers.join(', ')})`);
  };

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<any> {
    const token = resolveSecret(cfg.token, `loadBalancers.${name}.token`);
    const res = await request(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: cfg.timeoutMs,
      bodyTimeout: cfg.timeoutMs,
      signal: AbortSignal.timeout(cfg.timeoutMs),
    });
    const text = await res.body.text();
    if (res.statusCode === 401 || res.statusCode === 403)
      throw ApplicationFailure.nonRetryable(`LB API ${name} (${base}) refused the token from loadBalancers.${name}.token: HTTP ${res.statusCode}`, 'LoadBalancerAuth');
    if (res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 408 && res.statusCode !== 429)
      throw ApplicationFailure.nonRetryable(`LB API ${name}: ${method} ${path} answered HTTP ${res.statusCode}: ${text.slice(0, 300)}`, 'LoadBalancerRejected');
    if (res.statusCode >= 300) throw new Error(`LB API ${name}: ${method} ${path} answered HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      throw new Error(`LB API ${name}: ${method} ${path} answered non-JSON: ${text.slice(0, 200)}`);
    }
  }

  return {
    kind: 'http-api',
    supportsCohorts: true,
    async checkServers(servers) {
      servers.forEach(known);
    },
    async setSplit(req) {
      known(req.old);
      known(req.new);
      const body: ApiConfig = { traffic_split: { [req.new]: req.newPercent, [req.old]: 100 - req.newPercent } };
      if (req.targetUsers?.length) body.target_users = req.targetUsers;
      await call('POST', '/api/config', body);
    },
    async readSplit(old, next): Promise<SplitReading> {
      known(old);
      known(next);
      const cfgNow = (await call('GET', '/api/config')) as ApiConfig;
      const o = Number(cfgNow.traffic_split?.[old] ?? 0);
      const n = Number(cfgNow.traffic_split?.[next] ?? 0);
      return {
        newPercent: o + n === 0 ? 0 : Math.round((n / (o + n)) * 1000) / 10,
        weights: { [old]: o, [next]: n },
        ...(cfgNow.target_users?.length ? { targetUsers: cfgNow.target_users } : {}),
      };
    },
    async setServerState(s, state) {
      known(s);
      await call('POST', `/api/servers/${encodeURIComponent(s)}/state`, { state });
    },
    async readServerState(s): Promise<ServerState> {
      known(s);
      const res = (await call('GET', `/api/servers/${encodeURIComponent(s)}/state`)) as { state?: ServerState };
      return res.state ?? 'ready';
    },
  };
}
