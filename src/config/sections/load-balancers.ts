import { z } from 'zod';
import { flag, httpUrl, nonEmpty, positiveInt, typed } from '../../domain/fields';
import { secretRef } from '../secrets';
import { tcpPort } from '../../domain/names';
import { lbServerName } from '../../domain/rollout/input';

/**
 * The load balancers a rollout may name (`"lb": "edge"`). Each kind is one member of the union and
 * one adapter in src/activities/systems/load-balancer; workflow inputs carry only the name.
 */
const hostPort = z.object({ host: nonEmpty.default('127.0.0.1'), port: tcpPort }).strict();

/** HAProxy through its Runtime API: one backend whose servers are the rollout's old and new systems. */
const haproxyLoadBalancer = typed('haproxy', {
  /** The Runtime API: a unix socket path (`stats socket … level admin`) or a TCP address. */
  runtimeApi: z.union([z.object({ socket: nonEmpty }).strict(), hostPort]),
  /** The HAProxy backend that holds the servers named in rollout inputs. */
  backend: z.string().regex(/^[A-Za-z0-9._:-]+$/, 'an HAProxy backend name'),
  timeoutMs: positiveInt.default(5_000),
});

/** How opsflow runs nginx, on a load balancer as on a deploy's hosts. */
export const nginxCommand = {
  binary: nonEmpty.default('nginx'),
  /** `-p`, `-c` and `-e` for `nginx -t` and `nginx -s reload`, when not the package defaults. */
  prefix: nonEmpty.optional(),
  configFile: nonEmpty.optional(),
  errorLog: nonEmpty.optional(),
  sudo: flag,
};

/** nginx (open source): an upstream include rewritten by opsflow, checked with `nginx -t`, then reloaded. */
const nginxLoadBalancer = typed('nginx', {
  /** The file `include`d inside the `upstream { }` block; opsflow owns it. */
  upstreamFile: nonEmpty,
  /** Server names (as inputs use them) → `host:port` as nginx's `server` directive takes it. */
  servers: z.record(lbServerName, z.string().regex(/^[A-Za-z0-9.\-[\]:]+:\d+$/, 'host:port')),
  ...nginxCommand,
  timeoutMs: positiveInt.default(15_000),
}).refine((c) => Object.keys(c.servers).length > 0, { message: 'name at least one server', path: ['servers'] });

/** An HTTP LB API in the runbook's format: `POST <url>/api/config` with a bearer token. */
const httpApiLoadBalancer = typed('http-api', {
  url: httpUrl,
  token: secretRef,
  /** The systems the API knows (keys of `traffic_split`); inputs naming others are refused. */
  servers: z.array(lbServerName).min(1).default(['old_system', 'new_system']),
  timeoutMs: positiveInt.default(10_000),
});

export const loadBalancerConfig = z.discriminatedUnion('type', [
  haproxyLoadBalancer,
  nginxLoadBalancer,
  httpApiLoadBalancer,
]);
export type LoadBalancerConfig = z.infer<typeof loadBalancerConfig>;
export type HaproxyLoadBalancerConfig = z.infer<typeof haproxyLoadBalancer>;
export type NginxLoadBalancerConfig = z.infer<typeof nginxLoadBalancer>;
export type HttpApiLoadBalancerConfig = z.infer<typeof httpApiLoadBalancer>;
