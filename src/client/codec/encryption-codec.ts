import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Payload, PayloadCodec, SerializationContext } from '@temporalio/common';

export const ENCRYPTED_ENCODING = 'binary/opsflow-aes256gcm';
export const KEY_ID_METADATA = 'opsflow-key-id';
export const COMPRESSION_METADATA = 'opsflow-compression';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ENVELOPE_VERSION = 1;

class PayloadDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

export interface EncryptionCodecOptions {
  keys: Map<string, Buffer>;
  currentKeyId: string;
  /** The namespace bound to every payload when a call carries no serialization context. */
  namespace: string;
  compressAboveBytes: number;
}

const textOf = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');

/**
 * The whole payload, metadata and data, as one byte string, so that nothing of the original (its
 * encoding included) stays in clear: [version][u32 length][metadata JSON][data].
 */
function envelope(p: Payload): Buffer {
  const metadata = Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  );
  const meta = Buffer.from(JSON.stringify(metadata));
  const head = Buffer.alloc(5);
  head.writeUInt8(ENVELOPE_VERSION, 0);
  head.writeUInt32BE(meta.length, 1);
  return Buffer.concat([head, meta, Buffer.from(p.data ?? new Uint8Array())]);
}

function unwrap(b: Buffer): Payload {
  if (b.readUInt8(0) !== ENVELOPE_VERSION)
    throw new PayloadDecryptionError(`unknown payload envelope version ${b.readUInt8(0)}`);
  const len = b.readUInt32BE(1);
  const metadata = JSON.parse(b.subarray(5, 5 + len).toString('utf8')) as Record<string, string>;
  return {
    metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: b.subarray(5 + len),
  };
}

/**
 * AES-256-GCM over each payload with a random 96-bit nonce. The associated data binds the namespace,
 * the key id and the compression flag: a payload copied into another namespace, or whose clear
 * metadata was edited, fails to decrypt instead of decoding to something else. Payloads that are
 * not encrypted (written before encryption was turned on) decode as they are.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly o: EncryptionCodecOptions) {
    if (!o.keys.has(o.currentKeyId))
      throw new Error(`encryption: current key "${o.currentKeyId}" is not among the keys`);
  }

  private aad(namespace: string, keyId: string, compression: string): Buffer {
    return Buffer.from(`opsflow/v1\n${namespace}\n${keyId}\n${compression}`);
  }

  private namespaceOf(context?: SerializationContext): string {
    return context?.namespace ?? this.o.namespace;
  }

  async encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    return payloads.map((p) => this.encryptOne(p, this.namespaceOf(context)));
  }

  async decode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    return payloads.map((p) => this.decryptOne(p, this.namespaceOf(context)));
  }

  encryptOne(p: Payload, namespace: string): Payload {
    let plain = envelope(p);
    const compression = plain.length > this.o.compressAboveBytes ? 'deflate' : 'none';
    if (compression === 'deflate') plain = deflateRawSync(plain);
    const keyId = this.o.currentKeyId;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.o.keys.get(keyId)!, nonce);
    cipher.setAAD(this.aad(namespace, keyId, compression));
    const sealed = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: Buffer.from(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: Buffer.from(keyId),
        [COMPRESSION_METADATA]: Buffer.from(compression),
      },
      data: sealed,
    };
  }

  decryptOne(p: Payload, namespace: string): Payload {
    if (textOf(p.metadata?.encoding) !== ENCRYPTED_ENCODING) return p;
    const keyId = textOf(p.metadata?.[KEY_ID_METADATA]);
    const key = this.o.keys.get(keyId);
    if (!key) {
      throw new PayloadDecryptionError(
        `payload encrypted with key "${keyId}", which is not configured (configured: ${[...this.o.keys.keys()].join(', ')}); add it to encryption.keys to read it`,
      );
    }
    const compression = textOf(p.metadata?.[COMPRESSION_METADATA]) || 'none';
    const data = Buffer.from(p.data ?? new Uint8Array());
    if (data.length < NONCE_BYTES + TAG_BYTES)
      throw new PayloadDecryptionError(`encrypted payload (key "${keyId}") is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES));
    decipher.setAAD(this.aad(namespace, keyId, compression));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(
        `payload under key "${keyId}" does not decrypt in namespace "${namespace}": it belongs to another namespace, the key's value is not the one it was written with, or it was altered`,
      );
    }
    return unwrap(compression === 'deflate' ? inflateRawSync(plain) : plain);
  }
}
