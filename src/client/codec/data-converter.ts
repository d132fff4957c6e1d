import type { DataConverter } from '@temporalio/common';
import type { OpsflowConfig } from '../../config/schema';
import { EncryptionCodec } from './encryption-codec';
import { ENCODED_FAILURES_MARK } from './failure-converter';
import { resolveKeys } from './keys';

export const failureConverterPath = require.resolve('./failure-converter');

/** The codec of the config's `encryption`, or undefined when payloads are not encrypted. */
export function encryptionCodec(
  config: OpsflowConfig,
  namespace: string,
  env: NodeJS.ProcessEnv = process.env,
): EncryptionCodec | undefined {
  const e = config.encryption;
  if (!e) return undefined;
  return new EncryptionCodec({
    keys: resolveKeys(e, env),
    currentKeyId: e.current,
    namespace,
    compressAboveBytes: e.compressAboveBytes,
  });
}

/**
 * One data converter for everything that talks to Temporal for opsflow (worker, CLI, alert receiver,
 * schedules, the dev launcher): payloads and failure texts encrypted when the config says so.
 */
export function dataConverterFor(
  config: OpsflowConfig,
  namespace: string,
  env: NodeJS.ProcessEnv = process.env,
): DataConverter | undefined {
  const codec = encryptionCodec(config, namespace, env);
  return codec ? { payloadCodecs: [codec], failureConverterPath } : undefined;
}

/** Whether a workflow bundle's code was built with the encoding failure converter. */
export function bundleEncodesFailures(code: string): boolean {
  return code.includes(ENCODED_FAILURES_MARK);
}
