import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import {
  EncryptionCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  COMPRESSION_METADATA,
} from '../../src/client/codec/encryption-codec';
import { parseKey, resolveKeys } from '../../src/client/codec/keys';
import { parseConfigText } from '../../src/config/load';

/** The payload codec on its own: what it writes, what it refuses to read, and rotation. */
describe('payload encryption codec', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const codec = (current: string, keys: Record<string, Buffer>, compressAboveBytes = 1024) =>
    new EncryptionCodec({
      keys: new Map(Object.entries(keys)),
      currentKeyId: current,
      namespace: 'default',
      compressAboveBytes,
    });
  const ctx = (namespace: string) => ({ type: 'workflow' as const, namespace, workflowId: 'w' });
  const payload = (v: unknown): Payload => defaultPayloadConverter.toPayload(v);
  const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

  test('a payload round-trips; nothing of it, its encoding included, is left in clear; two encodings differ (random nonce)', async () => {
    const c = codec('k1', { k1 });
    const secret = { dsn: 'postgres://app:hunter2-quokka@db/app' };
    const [a] = await c.encode([payload(secret)], ctx('default'));
    const [b] = await c.encode([payload(secret)], ctx('default'));
    expect(text(a.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(a.metadata![KEY_ID_METADATA])).toBe('k1');
    const raw = Buffer.concat([
      Buffer.from(a.data!),
      ...Object.values(a.metadata!).map((v) => Buffer.from(v!)),
    ]).toString('latin1');
    expect(raw).not.toContain('hunter2');
    expect(raw).not.toContain('json/plain');
    expect(Buffer.from(a.data!).equals(Buffer.from(b.data!))).toBe(false);
    const [back] = await c.decode([a], ctx('default'));
    expect(defaultPayloadConverter.fromPayload(back)).toEqual(secret);
    expect(text(back.metadata!.encoding)).toBe('json/plain');
  });

  test('large payloads are deflated before encryption, small ones are not', async () => {
    const c = codec('k1', { k1 }, 100);
    const big = { rows: 'x'.repeat(10_000) };
    const [enc] = await c.encode([payload(big), payload({ a: 1 })], ctx('default')).then((p) => p);
    const [bigEnc, smallEnc] = await c.encode([payload(big), payload({ a: 1 })], ctx('default'));
    expect(text(bigEnc.metadata![COMPRESSION_METADATA])).toBe('deflate');
    expect(bigEnc.data!.length).toBeLessThan(1_000);
    expect(text(smallEnc.metadata![COMPRESSION_METADATA])).toBe('none');
    expect(defaultPayloadConverter.fromPayload((await c.decode([enc], ctx('default')))[0])).toEqual(big);
  });

  test('rotation: the new current key encrypts, the old one still decrypts; an unknown key id is named, never garbage', async () => {
    const [old] = await codec('k1', { k1 }).encode([payload('before')], ctx('default'));
    const rotated = codec('k2', { k1, k2 });
    const [fresh] = await rotated.encode([payload('after')], ctx('default'));
    expect(text(fresh.metadata![KEY_ID_METADATA])).toBe('k2');
    expect(
      (await rotated.decode([old, fresh], ctx('default'))).map((p) => defaultPayloadConverter.fromPayload(p)),
    ).toEqual(['before', 'after']);
    await expect(codec('k2', { k2 }).decode([old], ctx('default'))).rejects.toThrow(
      'payload encrypted with key "k1", which is not configured (configured: k2); add it to encryption.keys to read it',
    );
  });

  test('a payload does not decrypt in another namespace, with another key value under the same id, or with its clear metadata edited', async () => {
    const c = codec('k1', { k1 });
    const [p] = await c.encode([payload('ns-bound')], ctx('default'));
    await expect(c.decode([p], ctx('other'))).rejects.toThrow(/does not decrypt in namespace "other"/);
    await expect(codec('k1', { k1: k2 }).decode([p], ctx('default'))).rejects.toThrow(/does not decrypt/);
    const edited = { ...p, metadata: { ...p.metadata, [COMPRESSION_METADATA]: Buffer.from('deflate') } };
    await expect(c.decode([edited], ctx('default'))).rejects.toThrow(/does not decrypt/);
  });

  test('payloads written before encryption was on decode as they are', async () => {
    const plain = payload({ old: true });
    expect(await codec('k1', { k1 }).decode([plain], ctx('default'))).toEqual([plain]);
  });

  test('keys: base64 or hex of 32 bytes, anything else names the field; the config names a current key that exists', () => {
    expect(parseKey(k1.toString('base64'), 'f')).toEqual(k1);
    expect(parseKey(k1.toString('hex'), 'f')).toEqual(k1);
    expect(() => parseKey('hunter2', 'encryption.keys[0].key')).toThrow(
      /encryption\.keys\[0\]\.key: an AES-256 key is 32 random bytes/,
    );
    expect(() => parseKey(randomBytes(16).toString('base64'), 'f')).toThrow(/32 random bytes/);
    const cfg = (enc: unknown) => parseConfigText(JSON.stringify({ encryption: enc }), 'c.json');
    expect(() => cfg({ keys: [{ id: 'a', key: { env: 'K_A' } }], current: 'b' })).toThrow(
      /encryption\.current: "b" is not one of keys\[\]\.id \(a\)/,
    );
    expect(() => cfg({ keys: [{ id: 'a', key: 'plaintext' }], current: 'a' })).toThrow(
      /encryption\.keys\.0\.key|encryption\.keys\[0\]\.key/,
    );
    expect(() => cfg({ keys: [{ id: 'a', key: { env: 'K_A' } }], current: 'a', codecServer: { origins: [] } })).toThrow(
      /encryption\.codecServer\.token: required unless auth is none/,
    );
    expect(() =>
      cfg({ keys: [{ id: 'a', key: { env: 'K_A' } }], current: 'a', codecServer: { auth: 'none', host: '0.0.0.0' } }),
    ).toThrow(/none is allowed only on a loopback host/);
    const ok = cfg({
      keys: [
        { id: 'a', key: { env: 'K_A' } },
        { id: 'b', key: { env: 'K_B' } },
      ],
      current: 'b',
    });
    const keys = resolveKeys(ok.encryption!, { K_A: k1.toString('base64'), K_B: k2.toString('hex') });
    expect(keys.get('a')).toEqual(k1);
    expect(keys.get('b')).toEqual(k2);
    expect(() => resolveKeys(ok.encryption!, { K_A: k1.toString('base64') })).toThrow(
      /encryption\.keys\[1\]\.key: env var K_B is not set/,
    );
  });
});
