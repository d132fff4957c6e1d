import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Payload } from '@temporalio/common';
import type { EncryptionCodec } from './encryption-codec';
import type { JwtCheck } from './jwt-auth';

/**
 * Temporal's codec-server protocol for the Web UI and `temporal --codec-endpoint`: `POST /encode`
 * and `POST /decode` with `{ "payloads": [{ "metadata": { k: base64 }, "data": base64 }] }`, the
 * namespace in `X-Namespace`. Every request is authenticated (the configured bearer token, a JWT
 * of the configured issuer such as the Web UI's forwarded access token, or nothing on a loopback dev
 * stack), CORS answers only the configured UI origins, bodies are bounded, and each decode leaves
 * one audit line (who, namespace, how many payloads) that never holds a payload or a token.
 */
export interface CodecServerOptions {
  codec: EncryptionCodec;
  /** The configured bearer token. With neither it nor `jwt`: no authentication (loopback only, by the config). */
  token?: string;
  /** Checks a bearer token that is not the configured one as a JWT of the configured issuer. */
  jwt?: (token: string) => Promise<JwtCheck>;
  origins: string[];
  maxBodyBytes: number;
  /** The namespace when a request names none. */
  defaultNamespace: string;
  log: (line: string) => void;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

type Caller = { who: string; problem?: undefined } | { who: string; problem: string; status: number };

/**
 * Who is asking, for the audit line: a fingerprint of the configured bearer token or the `sub` of a
 * verified JWT, never a token itself; or why the request is refused.
 */
async function caller(req: IncomingMessage, o: CodecServerOptions): Promise<Caller> {
  if (o.token === undefined && o.jwt === undefined) return { who: 'anonymous (auth none)' };
  const refuse = (who: string, problem: string, status = 401): Caller => ({ who, problem, status });
  const header = req.headers.authorization;
  if (!header) return refuse('unknown', 'no Authorization header');
  const m = /^Bearer (.+)$/.exec(header);
  if (!m) return refuse('unknown', 'Authorization is not "Bearer <token>"');
  const fingerprint = `token sha256:${createHash('sha256').update(m[1]).digest('hex').slice(0, 12)}`;
  if (o.token !== undefined) {
    const a = Buffer.from(m[1]);
    const b = Buffer.from(o.token);
    if (a.length === b.length && timingSafeEqual(a, b)) return { who: fingerprint };
  }
  if (!o.jwt) return refuse(fingerprint, 'wrong bearer token');
  const check = await o.jwt(m[1]);
  return check.ok
    ? { who: check.who }
    : refuse(check.who === 'unknown' ? fingerprint : check.who, check.problem, check.status);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, `body of ${declared} bytes is over the limit of ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `body over the limit of ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parsePayloads(body: Buffer): Payload[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
  const payloads = (parsed as { payloads?: unknown })?.payloads;
  if (!Array.isArray(payloads)) throw new HttpError(400, 'body.payloads: an array of payloads');
  return payloads.map((p, i) => {
    if (!p || typeof p !== 'object') throw new HttpError(400, `body.payloads[${i}]: an object with metadata and data`);
    return fromJson(p as JsonPayload);
  });
}

export function createCodecServer(o: CodecServerOptions): Server {
  const allowed = new Set(o.origins.map((u) => new URL(u).origin));
  const cors = (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    if (!origin || !allowed.has(origin)) return;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Namespace');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Max-Age', '600');
  };
  const reply = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

  return createServer(async (req, res) => {
    cors(req, res);
    const path = new URL(req.url ?? '/', 'http://codec').pathname.replace(/\/+$/, '');
    const op = path.endsWith('/encode') ? 'encode' : path.endsWith('/decode') ? 'decode' : undefined;
    const from = req.socket.remoteAddress ?? '?';
    if (req.method === 'OPTIONS') {
      // A preflight from an origin that is not configured gets no CORS headers: the browser refuses.
      return res.writeHead(req.headers.origin && allowed.has(req.headers.origin) ? 204 : 403).end();
    }
    if (req.method !== 'POST' || !op) return reply(res, 404, { error: 'POST /encode or /decode' });
    const namespace = (req.headers['x-namespace'] as string | undefined)?.trim() || o.defaultNamespace;
    const auth = await caller(req, o);
    const who = auth.who;
    if (auth.problem !== undefined) {
      o.log(`opsflow codec: refused ${op} from ${from} (${who}) namespace ${namespace}: ${auth.problem}`);
      return reply(res, auth.status, { error: auth.problem });
    }
    try {
      const payloads = parsePayloads(await readBody(req, o.maxBodyBytes));
      const context = { type: 'workflow' as const, namespace, workflowId: '' };
      const out = op === 'encode' ? await o.codec.encode(payloads, context) : await o.codec.decode(payloads, context);
      o.log(
        `opsflow codec: ${op} ${payloads.length} payload${payloads.length === 1 ? '' : 's'} for ${who} namespace ${namespace} from ${from}`,
      );
      return reply(res, 200, { payloads: out.map(toJson) });
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 400;
      o.log(`opsflow codec: ${op} failed for ${who} namespace ${namespace} from ${from}: ${(err as Error).message}`);
      return reply(res, status, { error: (err as Error).message });
    }
  });
}
