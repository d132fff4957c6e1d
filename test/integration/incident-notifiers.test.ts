import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { notifyActivities } from '../../src/activities/systems/notify';
import { messageId } from '../../src/activities/systems/notify/email';
import { parseConfigText } from '../../src/config/load';
import type { Notification } from '../../src/domain/notification';
import { HttpReceiver } from '../helpers/http-receiver';
import { SmtpReceiver } from '../helpers/smtp-receiver';
import { testToken } from '../helpers/tokens';
const SMS_TOKEN = testToken('sms-auth');

/** PagerDuty, SMS and email adapters of `notify`, against local receivers that record what arrives. */
describe('notify activity: PagerDuty, SMS, email', () => {
  const receivers: { stop(): Promise<void> }[] = [];
  const started = async <T extends { start(): Promise<T>; stop(): Promise<void> }>(r: T) => (
    receivers.push(r),
    r.start()
  );
  afterAll(() => Promise.all(receivers.map((r) => r.stop())));

  const mockEnv = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const run = <T>(fn: () => Promise<T>): Promise<T> => mockEnv.run(fn);
  const activities = (config: unknown) => notifyActivities(parseConfigText(JSON.stringify(config), 'test.json'));
  const message = (notifier: string, over: Partial<Notification> = {}): Notification => ({
    notifier,
    idempotencyKey: `incident-fp1/run-1/opened/${notifier}`,
    severity: 'emergency',
    title: 'P0 INC-20260101000000: web down',
    text: 'web-server is down',
    details: { incident: 'INC-20260101000000' },
    ...over,
  });

  beforeAll(() => {
    process.env.OPSFLOW_TEST_PD_KEY = 'pd-routing-key-123';
    process.env.OPSFLOW_TEST_SMS_TOKEN = SMS_TOKEN;
  });

  test('PagerDuty: trigger, acknowledge and resolve share the dedup_key; 202 is success', async () => {
    const pd = await started(new HttpReceiver({ okStatus: 202, okBody: { status: 'success' } }));
    const acts = activities({
      notifiers: {
        pd: {
          type: 'pagerduty',
          url: pd.url + '/v2/enqueue',
          routingKey: { env: 'OPSFLOW_TEST_PD_KEY' },
          source: 'web-01',
        },
      },
    });
    const dedupKey = 'incident-fp1';
    expect((await run(() => acts.notify(message('pd', { dedupKey })))).status).toBe(202);
    await run(() => acts.notify(message('pd', { dedupKey, action: 'acknowledge', idempotencyKey: 'k-ack' })));
    await run(() => acts.notify(message('pd', { dedupKey, action: 'resolve', idempotencyKey: 'k-res' })));
    expect(pd.requests.map((r) => [r.path, r.json.event_action, r.json.dedup_key, r.json.routing_key])).toEqual([
      ['/v2/enqueue', 'trigger', dedupKey, 'pd-routing-key-123'],
      ['/v2/enqueue', 'acknowledge', dedupKey, 'pd-routing-key-123'],
      ['/v2/enqueue', 'resolve', dedupKey, 'pd-routing-key-123'],
    ]);
    expect(pd.requests[0].json.payload).toMatchObject({
      summary: 'P0 INC-20260101000000: web down',
      severity: 'critical',
      source: 'web-01',
    });
    expect(pd.requests[0].json.payload.custom_details).toMatchObject({
      text: 'web-server is down',
      incident: 'INC-20260101000000',
    });
    expect(pd.requests[2].json.payload).toBeUndefined();
  });

  test('PagerDuty: a 500 after recording is retryable; the retry carries the same dedup_key and the receiver keeps one', async () => {
    const pd = await started(
      new HttpReceiver({
        okStatus: 202,
        failFirst: 1,
        honourKey: (r) => r.json && `${r.json.dedup_key}/${r.json.event_action}`,
      }),
    );
    const acts = activities({
      notifiers: { pd: { type: 'pagerduty', url: pd.url, routingKey: { env: 'OPSFLOW_TEST_PD_KEY' } } },
    });
    const first = await run(() => acts.notify(message('pd'))).catch((e) => e);
    expect(first.nonRetryable).toBe(false);
    expect(first.message).toMatch(/HTTP 500/);
    await run(() => acts.notify(message('pd')));
    expect(pd.attempts).toHaveLength(2);
    expect(pd.attempts[0].json.dedup_key).toBe(pd.attempts[1].json.dedup_key);
    expect(pd.requests).toHaveLength(1);
  });

  test('PagerDuty: 400 (bad routing key) is not retried; a missing key env names the field', async () => {
    const pd = await started(new HttpReceiver({ okStatus: 400, okBody: { status: 'invalid event' } }));
    const acts = activities({
      notifiers: { pd: { type: 'pagerduty', url: pd.url, routingKey: { env: 'OPSFLOW_TEST_PD_KEY' } } },
    });
    const err = await run(() => acts.notify(message('pd'))).catch((e) => e);
    expect(err.nonRetryable).toBe(true);
    delete process.env.OPSFLOW_TEST_PD_MISSING;
    const missing = activities({
      notifiers: { pd: { type: 'pagerduty', url: pd.url, routingKey: { env: 'OPSFLOW_TEST_PD_MISSING' } } },
    });
    const e2 = await run(() => missing.notify(message('pd'))).catch((e) => e);
    expect(e2.message).toMatch(/notifiers\.pd\.routingKey: env var OPSFLOW_TEST_PD_MISSING is not set/);
    expect(e2.nonRetryable).toBe(true);
  });

  test('SMS: one form-encoded message per number with basic auth; a retried send keeps its key', async () => {
    const api = await started(new HttpReceiver({ okStatus: 201, failFirst: 1, honourKey: true }));
    const acts = activities({
      notifiers: {
        sms: {
          type: 'sms',
          baseUrl: api.url,
          accountSid: 'AC123',
          authToken: { env: 'OPSFLOW_TEST_SMS_TOKEN' },
          from: '+15550000000',
          to: ['+15551111111', '+15552222222'],
        },
      },
    });
    const err = await run(() => acts.notify(message('sms'))).catch((e) => e);
    expect(err.nonRetryable).toBe(false);
    await run(() => acts.notify(message('sms')));
    // attempt 1 (recorded, 500), then the retry: the first number again (same key, dropped), the second
    expect(api.attempts).toHaveLength(3);
    expect(api.requests).toHaveLength(2);
    const [a, b] = api.requests;
    expect(a.path).toBe('/2010-04-01/Accounts/AC123/Messages.json');
    expect(a.headers.authorization).toBe(`Basic ${Buffer.from(`AC123:${SMS_TOKEN}`).toString('base64')}`);
    expect(a.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(a.body);
    expect(form.get('To')).toBe('+15551111111');
    expect(form.get('From')).toBe('+15550000000');
    expect(form.get('Body')).toBe('P0 INC-20260101000000: web down — web-server is down');
    expect(new URLSearchParams(b.body).get('To')).toBe('+15552222222');
    expect(a.headers['idempotency-key']).toBe('incident-fp1/run-1/opened/sms/+15551111111');
    expect(a.headers['i-twilio-idempotency-token']).toBe('incident-fp1/run-1/opened/sms/+15551111111');
  });

  test('SMS: a 4xx (bad number) is not retried', async () => {
    const api = await started(new HttpReceiver({ okStatus: 400, okBody: { code: 21211, message: 'invalid To' } }));
    const acts = activities({
      notifiers: {
        sms: {
          type: 'sms',
          baseUrl: api.url,
          accountSid: 'AC1',
          authToken: { env: 'OPSFLOW_TEST_SMS_TOKEN' },
          from: '+15550000000',
          to: ['+15551111111'],
        },
      },
    });
    const err = await run(() => acts.notify(message('sms'))).catch((e) => e);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/HTTP 400 for \+15551111111/);
  });

  test('email: a real SMTP exchange; subject by urgency; Message-ID derived from the key, the same on a retry', async () => {
    const smtp = await started(new SmtpReceiver());
    const acts = activities({
      notifiers: {
        mail: {
          type: 'email',
          host: '127.0.0.1',
          port: smtp.port,
          from: 'opsflow@example.test',
          to: ['cto@example.test', 'ops@example.test'],
        },
      },
    });
    await run(() => acts.notify(message('mail')));
    await run(() => acts.notify(message('mail')));
    expect(smtp.messages).toHaveLength(2);
    const [m1, m2] = smtp.messages;
    expect(m1.to).toEqual(['cto@example.test', 'ops@example.test']);
    expect(m1.from).toBe('opsflow@example.test');
    expect(m1.subject).toBe('[URGENT] P0 INC-20260101000000: web down');
    expect(m1.headers['message-id']).toBe(messageId('incident-fp1/run-1/opened/mail'));
    expect(m2.headers['message-id']).toBe(m1.headers['message-id']);
    expect(m1.headers['idempotency-key']).toBe('incident-fp1/run-1/opened/mail');
    expect(m1.body).toContain('web-server is down');
  });

  test('email: a permanently rejected recipient is not retried; an unreachable server is', async () => {
    const smtp = await started(new SmtpReceiver({ rejectRecipients: ['nobody@example.test'] }));
    const acts = activities({
      notifiers: {
        bad: {
          type: 'email',
          host: '127.0.0.1',
          port: smtp.port,
          from: 'opsflow@example.test',
          to: ['nobody@example.test'],
        },
        down: {
          type: 'email',
          host: '127.0.0.1',
          port: 1,
          from: 'opsflow@example.test',
          to: ['a@example.test'],
          timeoutMs: 3000,
        },
      },
    });
    const rejected = await run(() => acts.notify(message('bad'))).catch((e) => e);
    expect(rejected.nonRetryable).toBe(true);
    expect(rejected.message).toMatch(/email bad/);
    const down = await run(() => acts.notify(message('down'))).catch((e) => e);
    expect(down.nonRetryable).toBe(false);
    expect(smtp.messages).toHaveLength(0);
  });
});
