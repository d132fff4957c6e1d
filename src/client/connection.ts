import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import { existsSync } from 'node:fs';

export const TASK_QUEUE = process.env.OPSFLOW_TASK_QUEUE ?? 'opsflow';

export interface TemporalSettings {
  address: string;
  namespace: string;
  tls?: ConnectionOptions['tls'];
  apiKey?: string;
  /** gRPC headers every call carries (`TEMPORAL_GRPC_META_*`, a profile's `grpc_meta`). */
  metadata?: Record<string, string>;
}

// opsflow's names from before Temporal's own profiles; still read, as the same settings.
const aliases: Record<string, string> = {
  TEMPORAL_TLS_CERT: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
};

/**
 * Where Temporal is and how to reach it, read as the `temporal` CLI reads it (@temporalio/envconfig):
 * the profile `TEMPORAL_PROFILE` (else `default`) of `TEMPORAL_CONFIG_FILE` (else
 * ~/.config/temporalio/temporal.toml, when there is one), overridden by TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_GRPC_META_*; then by `overrides`
 * (the CLI's --address and --namespace). Nothing set: the dev server at 127.0.0.1:7233.
 */
export function temporalSettings(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<TemporalSettings> = {},
): TemporalSettings {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') vars[k] = v;
  for (const [old, name] of Object.entries(aliases)) if (vars[old] && !vars[name]) vars[name] = vars[old];
  // envconfig skips a config file that is not there; one that was named and is missing is a mistake.
  if (vars.TEMPORAL_CONFIG_FILE && !existsSync(vars.TEMPORAL_CONFIG_FILE))
    throw new Error(`TEMPORAL_CONFIG_FILE: ${vars.TEMPORAL_CONFIG_FILE} does not exist`);
  let profile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (err) {
    throw new Error(
      `Temporal connection settings${vars.TEMPORAL_PROFILE ? ` (profile ${vars.TEMPORAL_PROFILE})` : ''}: ${(err as Error).message}`,
    );
  }
  if (Boolean(profile.tls?.clientCert) !== Boolean(profile.tls?.clientKey))
    throw new Error(
      "TLS client certificate and key go together (TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA and TEMPORAL_TLS_CLIENT_KEY_PATH/_DATA, or the profile's tls): set both or neither",
    );
  const { connectionOptions: c, namespace } = toClientOptions(profile);
  const metadata = c.metadata && Object.keys(c.metadata).length ? (c.metadata as Record<string, string>) : undefined;
  return {
    address: overrides.address ?? c.address ?? '127.0.0.1:7233',
    namespace: overrides.namespace ?? namespace ?? 'default',
    ...(c.tls !== undefined ? { tls: c.tls as ConnectionOptions['tls'] } : {}),
    ...(c.apiKey ? { apiKey: c.apiKey as string } : {}),
    ...(metadata ? { metadata } : {}),
  };
}

/** Options that both the client's Connection and the worker's NativeConnection accept. */
export function connectionOptions(s: TemporalSettings) {
  return { address: s.address, tls: s.tls, apiKey: s.apiKey, ...(s.metadata ? { metadata: s.metadata } : {}) };
}

export async function connectClient(
  s: TemporalSettings = temporalSettings(),
  dataConverter?: DataConverter,
): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(s), connectTimeout: '10s' });
  return new Client({ connection, namespace: s.namespace, ...(dataConverter ? { dataConverter } : {}) });
}
