import { request } from 'undici';
import { ApplicationFailure } from '@temporalio/activity';
import type { HttpApiLoadBalancerConfig } from '../../../config/sections/load-balancers';
import { resolveSecret } from '../../../config/secrets';
import {
  splitReading,
  unknownServer,
  wantedWeights,
  type LoadBalancerAdapter,
  type ServerState,
  type SplitReading,
} from './adapter';

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
    if (!cfg.servers.includes(s))
      throw unknownServer(name, `server "${s}" (loadBalancers.${name}.servers: ${cfg.servers.join(', ')})`);
  };

  /** One call; with `missingIsUndefined`, a 404 answers undefined (an endpoint this API does not have). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON, read by the fields each endpoint answers
  async function call(method: 'GET' | 'POST', path: string, body?: unknown, missingIsUndefined = false): Promise<any> {
    const token = resolveSecret(cfg.token, `loadBalancers.${name}.token`);
    let res: Awaited<ReturnType<typeof request>>;
    let text: string;
    try {
      res = await request(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: cfg.timeoutMs,
        bodyTimeout: cfg.timeoutMs,
        signal: AbortSignal.timeout(cfg.timeoutMs),
      });
      text = await res.body.text();
    } catch (err) {
      // Refused, reset, timed out: a retry may well fix it; the message names the LB, not only the socket.
      throw new Error(`LB API ${name} (${base}): ${method} ${path} failed: ${(err as Error).message}`, { cause: err });
    }
    if (res.statusCode === 401 || res.statusCode === 403)
      throw ApplicationFailure.nonRetryable(
        `LB API ${name} (${base}) refused the token from loadBalancers.${name}.token: HTTP ${res.statusCode}`,
        'LoadBalancerAuth',
      );
    if (res.statusCode === 404 && missingIsUndefined) return undefined;
    if (res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 408 && res.statusCode !== 429)
      throw ApplicationFailure.nonRetryable(
        `LB API ${name}: ${method} ${path} answered HTTP ${res.statusCode}: ${text.slice(0, 300)}`,
        'LoadBalancerRejected',
      );
    if (res.statusCode >= 300)
      throw new Error(`LB API ${name}: ${method} ${path} answered HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      throw new Error(`LB API ${name}: ${method} ${path} answered non-JSON: ${text.slice(0, 200)}`);
    }
  }

  /**
   * A system's state by opsflow's convention. The runbook's API defines only the split: one without
   * the state endpoint (404) has no drained systems, so each takes traffic by its share.
   */
  const readState = async (s: string): Promise<ServerState> => {
    const res = (await call('GET', `/api/servers/${encodeURIComponent(s)}/state`, undefined, true)) as
      { state?: ServerState } | undefined;
    return res?.state ?? 'ready';
  };

  return {
    kind: 'http-api',
    supportsCohorts: true,
    async checkServers(servers) {
      servers.forEach(known);
      // A read with the token: a refused token (401/403) or an API that is not there fails the plan,
      // before the first step moves traffic and long before a rollback would need the same access.
      await call('GET', '/api/config');
    },
    async setSplit(req) {
      known(req.old);
      known(req.new);
      // A share on a drained system moves nothing: one that is to take traffic is made ready first (if it is not).
      const want = wantedWeights(req);
      for (const s of [req.old, req.new]) {
        if (want[s] > 0 && (await readState(s)) !== 'ready')
          await call('POST', `/api/servers/${encodeURIComponent(s)}/state`, { state: 'ready' });
      }
      const body: ApiConfig = { traffic_split: { [req.new]: req.newPercent, [req.old]: 100 - req.newPercent } };
      if (req.targetUsers?.length) body.target_users = req.targetUsers;
      await call('POST', '/api/config', body);
    },
    async readSplit(old, next): Promise<SplitReading> {
      known(old);
      known(next);
      const cfgNow = (await call('GET', '/api/config')) as ApiConfig;
      const weight = (s: string) => Number(cfgNow.traffic_split?.[s] ?? 0);
      const reading = splitReading(
        name,
        old,
        next,
        { [old]: weight(old), [next]: weight(next) },
        { [old]: await readState(old), [next]: await readState(next) },
      );
      return { ...reading, ...(cfgNow.target_users?.length ? { targetUsers: cfgNow.target_users } : {}) };
    },
    async setServerState(s, state) {
      known(s);
      await call('POST', `/api/servers/${encodeURIComponent(s)}/state`, { state });
    },
    async readServerState(s): Promise<ServerState> {
      known(s);
      return readState(s);
    },
  };
}
