import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { AlertPayloadError, parseAlertmanagerPayload, type MappedAlert } from './alertmanager';
import { TASK_QUEUE } from '../connection';

export const ALERTS_PATH = '/alertmanager';

export interface AlertReceiverOptions {
  client: Client;
  token: string;
  host?: string;
  port?: number;
  taskQueue?: string;
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

export interface AlertOutcome {
  workflowId: string;
  status: 'firing' | 'resolved';
  /** firing: "signalled-with-start" (opened or joined); resolved: "resolve sent" or "no open incident". */
  result: string;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * Applies checked alerts: a firing one is signal-with-start on `incident-<fingerprint>` (a repeat
 * joins the running incident, never opens a second), a resolved one signals `resolve`.
 */
export async function applyAlerts(client: Client, alerts: MappedAlert[], taskQueue = TASK_QUEUE): Promise<AlertOutcome[]> {
  const out: AlertOutcome[] = [];
  for (const a of alerts) {
    if (a.status === 'firing') {
      await client.workflow.signalWithStart('incidentResponseWorkflow', {
        workflowId: a.workflowId,
        taskQueue,
        args: [a.input],
        signal: 'alert',
        signalArgs: [{ status: 'firing', startsAt: a.startsAt, summary: a.input.title.slice(0, 500) }],
        staticSummary: `Incident: ${a.input.title} (alert ${a.input.fingerprint})`,
      });
      out.push({ workflowId: a.workflowId, status: 'firing', result: 'signalled-with-start' });
    } else {
      try {
        await client.workflow.getHandle(a.workflowId).signal('resolve', { by: 'alertmanager', note: 'alert resolved' });
        out.push({ workflowId: a.workflowId, status: 'resolved', result: 'resolve sent' });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        out.push({ workflowId: a.workflowId, status: 'resolved', result: 'no open incident' });
      }
    }
  }
  return out;
}

/**
 * The Alertmanager webhook receiver: POST /alertmanager with a bearer token. 401 for a wrong
 * token, 400 naming the field for a bad payload (and nothing is started), 413 for an oversized
 * body, 503 when Temporal cannot be reached (Alertmanager retries).
 */
export function createAlertReceiver(o: AlertReceiverOptions): Server {
  const max = o.maxBodyBytes ?? 1_000_000;
  const log = o.log ?? (() => undefined);
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/healthz') return send(res, 200, { ok: true });
    if (req.url !== ALERTS_PATH) return send(res, 404, { error: `POST alerts to ${ALERTS_PATH}` });
    if (req.method !== 'POST') return send(res, 405, { error: 'POST only' });
    if (!tokenMatches(req.headers.authorization, o.token)) {
      req.resume();
      return send(res, 401, { error: 'missing or wrong bearer token' });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', async () => {
      if (tooBig) return send(res, 413, { error: `body over ${max} bytes` });
      let alerts: MappedAlert[];
      try {
        alerts = parseAlertmanagerPayload(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        const reason = err instanceof SyntaxError ? `not JSON: ${err.message}` : err instanceof AlertPayloadError ? err.message : String(err);
        log(`alert receiver: 400 ${reason.replace(/\n/g, '; ')}`);
        return send(res, 400, { error: 'invalid Alertmanager payload', reason });
      }
      try {
        const outcomes = await applyAlerts(o.client, alerts, o.taskQueue);
        log(`alert receiver: ${outcomes.map((x) => `${x.workflowId} ${x.status} ${x.result}`).join(', ')}`);
        send(res, 200, { incidents: outcomes });
      } catch (err) {
        log(`alert receiver: 503 ${(err as Error).message}`);
        send(res, 503, { error: `Temporal unavailable: ${(err as Error).message}` });
      }
    });
  });
}

export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : port;
}
