import { notifyActivities } from '../../src/activities/systems/notify';
import { parseConfigText } from '../../src/config/load';
import type { Notification } from '../../src/domain/notification';
import { HttpReceiver } from '../helpers/http-receiver';
import { runActivity } from '../helpers/activity';
import { testToken } from '../helpers/tokens';
import { resolveSecret } from '../../src/config/secrets';
const HOOK_TOKEN = testToken('hook');

/** The webhook and Slack adapters against local HTTP receivers that record what arrives. */
describe('notify activity: webhook and Slack', () => {
  const receivers: HttpReceiver[] = [];
  const started = async (r: HttpReceiver) => (receivers.push(r), r.start());
  afterAll(() => Promise.all(receivers.map((r) => r.stop())));

  const message = (notifier: string): Notification => ({
    notifier,
    idempotencyKey: 'health-check-1/run-1/unhealthy/' + notifier,
    severity: 'critical',
    title: 'Health check: 3/4 healthy',
    text: 'DOWN postgres replica: connection refused',
    details: { failing: 1 },
  });

  function activities(config: unknown) {
    return notifyActivities(parseConfigText(JSON.stringify(config), 'test.json'));
  }

  test('webhook: JSON body and Idempotency-Key header; bearer token from env', async () => {
    const hook = await started(new HttpReceiver({ bearer: HOOK_TOKEN }));
    process.env.OPSFLOW_TEST_HOOK_TOKEN = HOOK_TOKEN;
    const acts = activities({
      notifiers: { ops: { type: 'webhook', url: hook.url + '/alerts', token: { env: 'OPSFLOW_TEST_HOOK_TOKEN' } } },
    });
    const res = await runActivity(acts.notify, message('ops'));
    expect(res.status).toBe(200);
    expect(hook.requests).toHaveLength(1);
    const [req] = hook.requests;
    expect(req.path).toBe('/alerts');
    expect(req.headers['idempotency-key']).toBe('health-check-1/run-1/unhealthy/ops');
    expect(req.json).toMatchObject({
      idempotencyKey: 'health-check-1/run-1/unhealthy/ops',
      severity: 'critical',
      title: 'Health check: 3/4 healthy',
    });
  });

  test("a message carrying a secret this worker resolved arrives without it, through every channel's one door", async () => {
    // Text composed outside any activity of this worker (an alert's annotations, another worker's
    // failure) may carry an echoed token; the notifier sends none of it.
    const hook = await started(new HttpReceiver());
    const leaked = testToken('leaked');
    process.env.OPSFLOW_TEST_LEAKED_TOKEN = leaked;
    resolveSecret({ env: 'OPSFLOW_TEST_LEAKED_TOKEN' }, 'directories.hr.token');
    const acts = activities({ notifiers: { ops: { type: 'webhook', url: hook.url } } });
    const n = message('ops');
    await runActivity(acts.notify, {
      ...n,
      title: `directory said ${leaked}`,
      text: `401 invalid token ${leaked}`,
      details: { reason: `revoked ${leaked}` },
    });
    expect(hook.requests[0].json).toMatchObject({
      title: 'directory said [redacted]',
      text: '401 invalid token [redacted]',
      details: { reason: 'revoked [redacted]' },
    });
    expect(hook.requests[0].body).not.toContain(leaked);
  });

  test('webhook: a 500 is retryable, a 4xx is not, and a missing token env names the field', async () => {
    const flaky = await started(new HttpReceiver({ failFirst: 1 }));
    const acts = activities({ notifiers: { ops: { type: 'webhook', url: flaky.url } } });
    const err = await runActivity(acts.notify, message('ops')).catch((e) => e as any);
    expect(err.message).toMatch(/HTTP 500/);
    expect(err.nonRetryable).toBe(false);

    const guarded = await started(new HttpReceiver({ bearer: 'expected' }));
    const noToken = activities({ notifiers: { ops: { type: 'webhook', url: guarded.url } } });
    const rejected = await runActivity(noToken.notify, message('ops')).catch((e) => e as any);
    expect(rejected.message).toMatch(/HTTP 401/);
    expect(rejected.nonRetryable).toBe(true);

    delete process.env.OPSFLOW_TEST_MISSING;
    const missing = activities({
      notifiers: { ops: { type: 'webhook', url: guarded.url, token: { env: 'OPSFLOW_TEST_MISSING' } } },
    });
    await expect(runActivity(missing.notify, message('ops'))).rejects.toThrow(
      /notifiers\.ops\.token: env var OPSFLOW_TEST_MISSING is not set/,
    );
  });

  test("a refusal carries the HTTP status and the receiver's reason (bounded), in the message and the details", async () => {
    const why = 'channel_is_archived: this channel no longer takes messages';
    const refusing = await started(
      new HttpReceiver({ refuse: { status: 403, body: `${why}\n\n${'x'.repeat(2000)}` } }),
    );
    const acts = activities({ notifiers: { 'chat-broken': { type: 'webhook', url: refusing.url } } });
    const err = await runActivity(acts.notify, message('chat-broken')).catch((e) => e as any);
    expect(err.message).toMatch(
      new RegExp(`^webhook chat-broken answered HTTP 403: ${why} x+… \\(\\d+ more characters\\)$`),
    );
    expect(err.message.length).toBeLessThan(450);
    expect(err.nonRetryable).toBe(true);
    expect(err.details[0]).toMatchObject({ status: 403, reason: expect.stringContaining(why) });
  });

  test('slack: incoming-webhook format, URL taken from env, key in a context block', async () => {
    const slack = await started(new HttpReceiver());
    process.env.OPSFLOW_TEST_SLACK_URL = slack.url + '/services/T000/B000/XXXX';
    const acts = activities({
      notifiers: { chat: { type: 'slack', webhookUrl: { env: 'OPSFLOW_TEST_SLACK_URL' }, channel: '#ops' } },
    });
    await runActivity(acts.notify, message('chat'));
    expect(slack.requests).toHaveLength(1);
    const body = slack.requests[0].json;
    expect(slack.requests[0].path).toBe('/services/T000/B000/XXXX');
    expect(body.channel).toBe('#ops');
    expect(body.text).toContain('*Health check: 3/4 healthy*');
    expect(JSON.stringify(body.blocks)).toContain('health-check-1/run-1/unhealthy/chat');
  });

  test('an unknown notifier is a non-retryable error that names it', async () => {
    const acts = activities({});
    const err = await runActivity(acts.notify, message('nobody')).catch((e) => e as any);
    expect(err.message).toMatch(/unknown notifier "nobody"/);
    expect(err.nonRetryable).toBe(true);
  });
});
