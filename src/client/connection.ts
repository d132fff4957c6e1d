import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';

export const TASK_QUEUE = process.env.OPSFLOW_TASK_QUEUE ?? 'opsflow';

export interface TemporalSettings {
  address: string;
  namespace: string;
  tls?: ConnectionOptions['tls'];
  apiKey?: string;
}

/**
 * Where Temporal is, from env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, and for a cloud or secured
 * cluster TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY (file paths) or TEMPORAL_API_KEY.
 */
export function temporalSettings(env: NodeJS.ProcessEnv = process.env, overrides: Partial<TemporalSettings> = {}): TemporalSettings {
  const cert = env.TEMPORAL_TLS_CERT;
  const key = env.TEMPORAL_TLS_KEY;
  if (Boolean(cert) !== Boolean(key)) throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both or neither');
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  return {
    address: overrides.address ?? env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: overrides.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
    tls: cert && key ? { clientCertPair: { crt: readFileSync(cert), key: readFileSync(key) } } : apiKey ? true : undefined,
    apiKey,
  };
}

/** Options that both the client's Connection and the worker's NativeConnection accept. */
export function connectionOptions(s: TemporalSettings) {
  return { address: s.address, tls: s.tls, apiKey: s.apiKey };
}

export async function connectClient(s: TemporalSettings = temporalSettings(), dataConverter?: DataConverter): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(s), connectTimeout: '10s' });
  return new Client({ connection, namespace: s.namespace, ...(dataConverter ? { dataConverter } : {}) });
}
