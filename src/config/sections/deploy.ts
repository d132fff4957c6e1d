import { z } from 'zod';
import { addIssue } from '../../domain/validation';
import { httpUrl, nonEmpty, unitNames } from '../../domain/fields';
import { targetName } from '../../domain/names';
import { duration } from '../../domain/duration';
import { lbServerName } from '../../domain/rollout/input';
import type { Issue } from '../references';
import { nginxCommand } from './load-balancers';

/**
 * A command of a deploy (install, migrate, static): an argv run without a shell in the release
 * directory, so nothing in it is ever parsed or expanded, and a timeout after which it is killed.
 */
const deployCommand = z
  .object({
    argv: z
      .array(z.string())
      .min(1, 'the program and its arguments')
      .refine((a) => a.length === 0 || a[0].length > 0, 'the program must not be empty'),
    timeout: duration.prefault('10m'),
  })
  .strict();
export type DeployCommand = z.infer<typeof deployCommand>;

/** How a host is reached: this machine, or an SSH host of `systemd.hosts` (key from a secret file). */
const deployTransport = z.union([z.literal('local'), z.object({ ssh: targetName }).strict()]);

const deployHost = z
  .object({
    transport: deployTransport.default('local'),
    /** The deploy path on this host; default: the service's. */
    path: z.string().startsWith('/', 'an absolute path').optional(),
    /** This host's server in the HAProxy backend. */
    lbServer: lbServerName.optional(),
    /** What the health check asks for; 2xx is healthy. */
    healthUrl: httpUrl,
    /** The units to restart on this host; default: the service's. */
    units: unitNames.optional(),
  })
  .strict();
export type DeployHost = z.infer<typeof deployHost>;

/** The nginx on each host, tested (`nginx -t`) and reloaded after a switch. */
const deployNginx = z
  .object({
    ...nginxCommand,
    timeout: duration.prefault('15s'),
  })
  .strict();

const deployService = z
  .object({
    /** What `git clone` takes: a URL or a path on the machine that builds (each host's transport). */
    repository: nonEmpty,
    /** The deploy path on the hosts: `releases/`, `current`, the cached clone under `.repo`. */
    path: z.string().startsWith('/', 'an absolute path'),
    hosts: z.record(targetName, deployHost).refine((h) => Object.keys(h).length > 0, 'name at least one host'),
    commands: z
      .object({
        install: deployCommand.optional(),
        migrate: deployCommand.optional(),
        static: deployCommand.optional(),
      })
      .strict()
      .default({}),
    units: unitNames.default([]),
    /**
     * Consecutive passes of the health check that make a host healthy after a switch, within the
     * input's `healthCheck.attempts`: one 200 from a release that answers 503 on every other
     * request proves nothing.
     */
    healthPasses: z.number().int().min(1, 'at least 1 pass').max(100).default(3),
    nginx: deployNginx.optional(),
    /** A load balancer of type haproxy in `loadBalancers`; hosts name their server in it. */
    lb: targetName.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.lb === undefined) return;
    for (const [name, h] of Object.entries(s.hosts))
      if (h.lbServer === undefined)
        addIssue(ctx, ['hosts', name, 'lbServer'], `the service has lb "${s.lb}": name this host's server in it`);
  });
export type DeployService = z.infer<typeof deployService>;

export const deployConfig = z
  .object({
    services: z.record(targetName, deployService).default({}),
    /** Where the worker keeps its mirror clones to resolve refs; default: a folder in the temp dir. */
    cacheDir: z.string().startsWith('/', 'an absolute path').optional(),
  })
  .strict();
export type DeployConfig = z.infer<typeof deployConfig>;

/** References to other sections: SSH hosts in `systemd.hosts`, HAProxy load balancers. */
export function checkDeployReferences(
  deploy: DeployConfig,
  known: { sshHosts: Record<string, unknown>; loadBalancers: Record<string, { type: string }> },
  issue: Issue,
): void {
  for (const [svc, s] of Object.entries(deploy.services)) {
    if (s.lb !== undefined) {
      const lb = known.loadBalancers[s.lb];
      if (!lb) issue(['deploy', 'services', svc, 'lb'], `unknown load balancer "${s.lb}"`);
      else if (lb.type !== 'haproxy')
        issue(
          ['deploy', 'services', svc, 'lb'],
          `load balancer "${s.lb}" is ${lb.type}; a deploy drains hosts on haproxy only`,
        );
    }
    for (const [host, h] of Object.entries(s.hosts))
      if (h.transport !== 'local' && !(h.transport.ssh in known.sshHosts))
        issue(
          ['deploy', 'services', svc, 'hosts', host, 'transport', 'ssh'],
          `unknown SSH host "${h.transport.ssh}" (not in systemd.hosts)`,
        );
  }
}
