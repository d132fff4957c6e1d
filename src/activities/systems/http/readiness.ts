import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { request } from 'undici';
import type { Evidence } from '../../../domain/readiness/evidence';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);

/** PUT random bytes, GET them back: the same bytes (by hash) or a failed fact naming what differed. */
export async function checkRoundTrip(
  c: { uploadUrl: string; downloadUrl: string; bytes: number; headers?: Record<string, string>; timeoutMs: number },
  now = new Date(),
): Promise<Evidence[]> {
  const key = `opsflow-readiness-${randomUUID()}`;
  const body = randomBytes(c.bytes);
  const at = now.toISOString();
  const up = c.uploadUrl.replace('{key}', key);
  const down = c.downloadUrl.replace('{key}', key);
  const put = await request(up, {
    method: 'PUT',
    body,
    headers: { 'content-type': 'application/octet-stream', ...c.headers },
    signal: AbortSignal.timeout(c.timeoutMs),
  });
  await put.body.dump();
  const uploaded: Evidence = {
    what: 'upload',
    value: `HTTP ${put.statusCode}`,
    threshold: '2xx',
    target: up,
    at,
    ok: put.statusCode >= 200 && put.statusCode < 300,
  };
  if (!uploaded.ok) return [uploaded];
  const get = await request(down, { headers: c.headers, signal: AbortSignal.timeout(c.timeoutMs) });
  const got = Buffer.from(await get.body.arrayBuffer());
  return [
    uploaded,
    {
      what: 'download',
      value: `HTTP ${get.statusCode}, ${got.length} bytes, sha256 ${sha256(got)}`,
      threshold: `200, ${body.length} bytes, sha256 ${sha256(body)}`,
      target: down,
      at,
      ok: get.statusCode === 200 && got.equals(body),
    },
  ];
}

/** The endpoint refuses a bad credential (401/403) and accepts the good one (2xx). */
export async function checkAuthentication(
  c: { url: string; header: string; good: string; bad: string; timeoutMs: number },
  now = new Date(),
): Promise<Evidence[]> {
  const status = async (credential: string) => {
    const res = await request(c.url, { headers: { [c.header]: credential }, signal: AbortSignal.timeout(c.timeoutMs) });
    await res.body.dump();
    return res.statusCode;
  };
  const [bad, good] = [await status(c.bad), await status(c.good)];
  const at = now.toISOString();
  return [
    {
      what: 'bad credential',
      value: `HTTP ${bad}`,
      threshold: '401 or 403',
      target: c.url,
      at,
      ok: bad === 401 || bad === 403,
    },
    {
      what: 'good credential',
      value: `HTTP ${good}`,
      threshold: '2xx',
      target: c.url,
      at,
      ok: good >= 200 && good < 300,
    },
  ];
}
