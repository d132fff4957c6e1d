import type { EncryptionConfig } from '../../config/sections/encryption';
import { resolveSecret } from '../../config/secrets';
import { ValidationError } from '../../config/errors';

export const KEY_BYTES = 32;

/** 32 bytes from a key written as base64 (44 characters) or hex (64); anything else names the field. */
export function parseKey(text: string, field: string): Buffer {
  const t = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(t)
    ? Buffer.from(t, 'hex')
    : /^[A-Za-z0-9+/]{43}=?$/.test(t)
      ? Buffer.from(t, 'base64')
      : undefined;
  if (!bytes || bytes.length !== KEY_BYTES) {
    throw new ValidationError(
      'encryption config',
      `${field}: an AES-256 key is ${KEY_BYTES} random bytes, written base64 (44 characters) or hex (64); make one with \`opsflow codec keygen\``,
    );
  }
  return bytes;
}

/** Every configured key by id, resolved from env or files now, so a missing one stops start-up, naming it. */
export function resolveKeys(cfg: EncryptionConfig, env: NodeJS.ProcessEnv = process.env): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  cfg.keys.forEach((k, i) => {
    const field = `encryption.keys[${i}].key`;
    keys.set(k.id, parseKey(resolveSecret(k.key, field, env), field));
  });
  return keys;
}
