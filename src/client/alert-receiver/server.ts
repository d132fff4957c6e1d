import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { AlertPayloadError, parseAlertmanagerPayload, type MappedAlert } from './alertmanager';
import { TASK_QUEUE } from '../connection';
import { incidentEntry } from '../registry';
import { alertSignal, resolveSignal } from '../../workflows/incident/messages';
import type { incidentResponseWorkflow } from '../../workflows/incident/workflow';
import type { AlertInput } from '../../domain/incident/incident';
import { classify, type Severity, type SeverityRule } from '../../domain/incident/severity';

export const ALERTS_PATH = '/alertmanager';

export interface AlertReceiverOptions {
  /** The client, or how to get one: a failure to connect is a 503 for that request, and the next request tries again. */
  client: Client | (() => Promise<Client>);
  token: string;
  host?: string;
  port?: number;
  taskQueue?: string;
  maxBodyBytes?: number;
  /** How long one payload may wait for Temporal before the answer is 503 (Alertmanager retries). */
  temporalTimeoutMs?: number;
  log?: (line: string) => void;
  /**
   * The config's classification (rules and severity label table), so the answer and the log say
   * the level each firing alert opens at and why; without it they say neither.
   */
  severity?: SeverityConfig;
}

interface SeverityConfig {
  severityRules: SeverityRule[];
  severityLabels: Record<string, Severity>;
}

interface AlertOutcome {
  workflowId: string;
  status: 'firing' | 'resolved';
  /** firing: "opened" (this alert started the incident) or "joined" (it was open); resolved: "resolve sent" or "no open incident". */
  result: 'opened' | 'joined' | 'resolve sent' | 'no open incident';
  /** Steering labels the receiver could not use (the incident opened anyway). */
  ignored?: string[];
  /** Firing: the level the incident's rules give the alert, and why (the workflow decides the same way). */
  severity?: Severity;
  severityReason?: string;
}

/** What the incident workflow will decide for this alert: `opsflow_severity` overrides, else the rules and the label. */
function classified(
  a: MappedAlert,
  cfg: SeverityConfig | undefined,
): Pick<AlertOutcome, 'severity' | 'severityReason'> {
  if (a.input.severity) return { severity: a.input.severity, severityReason: 'opsflow_severity label' };
  if (!cfg) return {};
  const c = classify(a.input, cfg.severityRules, cfg.severityLabels);
  return { severity: c.severity, severityReason: c.reason };
}

/** Why a request carries no acceptable token, in words that never include the token. */
function tokenProblem(header: string | undefined, token: string): string | undefined {
  if (!header) return 'no Authorization header';
  const m = /^Bearer (.+)$/.exec(header);
  if (!m) return 'Authorization is not "Bearer <token>"';
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b) ? undefined : 'wrong bearer token';
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** The run of `workflowId` that is running now, if any. */
async function runningRunId(client: Client, workflowId: string): Promise<string | undefined> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return d.status.name === 'RUNNING' ? d.runId : undefined;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Applies checked alerts: a firing one is signal-with-start on `incident-<fingerprint>` (a repeat
 * joins the running incident, never opens a second), a resolved one signals `resolve`. Whether a
 * firing alert opened or joined: the run signal-with-start reached is the one that was running
 * before the call (joined) or a new one (opened). Two deliveries of the same new alert at the
 * same instant may both say "opened"; there is still one incident.
 */
async function applyAlerts(
  client: Client,
  alerts: MappedAlert[],
  taskQueue = TASK_QUEUE,
  severity?: SeverityConfig,
): Promise<AlertOutcome[]> {
  const out: AlertOutcome[] = [];
  for (const a of alerts) {
    const ignored = a.ignored.length ? { ignored: a.ignored } : {};
    if (a.status === 'firing') {
      const before = await runningRunId(client, a.workflowId);
      const handle = await client.workflow.signalWithStart<typeof incidentResponseWorkflow, [AlertInput]>(
        incidentEntry.type,
        {
          workflowId: a.workflowId,
          taskQueue,
          args: [a.input],
          signal: alertSignal,
          signalArgs: [{ status: 'firing', startsAt: a.startsAt, summary: a.input.title.slice(0, 500) }],
          staticSummary: `Incident: ${a.input.title} (alert ${a.input.fingerprint})`,
        },
      );
      out.push({
        workflowId: a.workflowId,
        status: 'firing',
        result: handle.signaledRunId === before ? 'joined' : 'opened',
        ...classified(a, severity),
        ...ignored,
      });
    } else {
      try {
        await client.workflow
          .getHandle(a.workflowId)
          .signal(resolveSignal, { by: 'alertmanager', note: 'alert resolved' });
        out.push({ workflowId: a.workflowId, status: 'resolved', result: 'resolve sent', ...ignored });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        out.push({ workflowId: a.workflowId, status: 'resolved', result: 'no open incident', ...ignored });
      }
    }
  }
  return out;
}

const describeOutcome = (x: AlertOutcome) =>
  `${x.workflowId} ${x.status} ${x.result}${x.severity ? ` (${x.severityReason}: ${x.severity})` : ''}${x.ignored ? ` (ignored: ${x.ignored.join('; ')})` : ''}`;

/**
 * The Alertmanager webhook receiver: POST /alertmanager with a bearer token. 401 for a missing or
 * wrong token, 400 naming the field for a payload that is not Alertmanager's (and nothing is
 * started), 413 for an oversized body, 503 when Temporal cannot be reached (Alertmanager
 * retries). Every answer but 200 is logged with the client's address and the reason.
 */
export function createAlertReceiver(o: AlertReceiverOptions): Server {
  const max = o.maxBodyBytes ?? 1_000_000;
  const timeoutMs = o.temporalTimeoutMs ?? 10_000;
  const log = o.log ?? (() => undefined);
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const from = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const refuse = (status: number, reason: string, body: Record<string, unknown> = { error: reason }) => {
      log(`alert receiver: ${status} ${req.method} ${req.url} from ${from}: ${reason.replace(/\n/g, '; ')}`);
      send(res, status, body);
    };
    if (req.method === 'GET' && req.url === '/healthz') return send(res, 200, { ok: true });
    if (req.url !== ALERTS_PATH) {
      req.resume();
      return refuse(404, `POST alerts to ${ALERTS_PATH}`);
    }
    if (req.method !== 'POST') {
      req.resume();
      return refuse(405, 'POST only');
    }
    const problem = tokenProblem(req.headers.authorization, o.token);
    if (problem) {
      req.resume();
      return refuse(401, problem, { error: 'missing or wrong bearer token' });
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
      if (tooBig)
        return refuse(
          413,
          `body over ${max} bytes (incident.receiver.maxBodyBytes; set max_alerts in Alertmanager's webhook_config)`,
        );
      let alerts: MappedAlert[];
      try {
        alerts = parseAlertmanagerPayload(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        if (!(err instanceof SyntaxError) && !(err instanceof AlertPayloadError)) {
          return refuse(500, `opsflow could not map the payload: ${(err as Error).message}`);
        }
        const reason = err instanceof SyntaxError ? `not JSON: ${err.message}` : err.message;
        return refuse(400, `not an Alertmanager payload: ${reason}`, { error: 'invalid Alertmanager payload', reason });
      }
      try {
        const client = typeof o.client === 'function' ? await o.client() : o.client;
        const outcomes = await client.withDeadline(Date.now() + timeoutMs, () =>
          applyAlerts(client, alerts, o.taskQueue, o.severity),
        );
        log(`alert receiver: 200 from ${from}: ${outcomes.map(describeOutcome).join(', ')}`);
        send(res, 200, { incidents: outcomes });
      } catch (err) {
        refuse(503, `Temporal unavailable: ${(err as Error).message}`);
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
