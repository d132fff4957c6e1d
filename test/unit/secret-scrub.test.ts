import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REDACTED, scrubText, scrubValue, SecretScrubber } from '../../src/domain/secret-scrub';
import { parseConfigText } from '../../src/config/load';
import { recordConfiguredSecrets, resolvedSecrets, resolveSecret, scrubSecrets } from '../../src/config/secrets';
import { testToken } from '../helpers/tokens';

describe('scrubbing secrets out of text', () => {
  const secret = testToken('scrub');

  test('a secret is removed wherever it stands, as often as it occurs', () => {
    const text = `401 {"error":"invalid or revoked token ${secret}"} (sent ${secret})`;
    const out = scrubText(text, [secret]);
    expect(out).toBe(`401 {"error":"invalid or revoked token ${REDACTED}"} (sent ${REDACTED})`);
  });

  test('its JSON-escaped and URL-encoded spellings too', () => {
    const odd = `p"a/ss w\\rd-${testToken('odd')}`;
    const text = `body ${JSON.stringify({ echo: odd })} url http://x/?k=${encodeURIComponent(odd)}`;
    const out = scrubText(text, [odd]);
    expect(out).not.toContain(JSON.stringify(odd).slice(1, -1));
    expect(out).not.toContain(encodeURIComponent(odd));
    expect(out).toBe(`body {"echo":"${REDACTED}"} url http://x/?k=${REDACTED}`);
  });

  test('a secret cut short by the echoing system: 8 characters before an ellipsis, or half of it', () => {
    const cut = secret.slice(0, 8);
    expect(scrubText(`invalid token ${cut}… (truncated)`, [secret])).toBe(`invalid token ${REDACTED} (truncated)`);
    expect(scrubText(`invalid token ${cut}...`, [secret])).toBe(`invalid token ${REDACTED}`);
    const half = secret.slice(0, Math.ceil(secret.length / 2));
    expect(scrubText(`invalid token "${half}"`, [secret])).toBe(`invalid token "${REDACTED}"`);
    expect(scrubText(`invalid token ${half}`, [secret])).toBe(`invalid token ${REDACTED}`);
    // Where the text goes on with other letters or digits it is another word that starts alike.
    expect(scrubText(`${half}zz9 is another id`, [secret])).toBe(`${half}zz9 is another id`);
  });

  test('an ordinary word a secret begins with stays readable', () => {
    const token = testToken('directory');
    expect(scrubText('directory hr answered HTTP 401', [token])).toBe('directory hr answered HTTP 401');
  });

  test('Authorization and Bearer/Basic credentials and URL passwords go whatever their value', () => {
    const other = testToken('unknown');
    expect(scrubText(`invalid or revoked token: Bearer ${other.slice(0, 4)}…`, [])).toBe(
      `invalid or revoked token: Bearer ${REDACTED}`,
    );
    expect(scrubText(`headers: {"authorization":"Bearer ${other}","x":1}`, [])).toBe(
      `headers: {"authorization":"Bearer ${REDACTED}","x":1}`,
    );
    expect(scrubText(`Authorization: ${other}`, [])).toBe(`Authorization: ${REDACTED}`);
    expect(scrubText(`Basic ${Buffer.from(`u:${other}`).toString('base64')} refused`, [])).toBe(
      `Basic ${REDACTED} refused`,
    );
    expect(scrubText(`connect postgres://app:${other}@127.0.0.1:5432/db failed`, [])).toBe(
      `connect postgres://app:${REDACTED}@127.0.0.1:5432/db failed`,
    );
    // prose about tokens, and addresses, are not credentials
    const prose = 'a Bearer token is required; see http://127.0.0.1:8080/health and basic checks';
    expect(scrubText(prose, [])).toBe(prose);
  });

  test('values too short to be told from words are left alone; a secret inside another goes whole', () => {
    expect(scrubText('abc failed at abc', ['abc'])).toBe('abc failed at abc');
    const inner = testToken('in');
    const outer = `${inner}-${testToken('out')}`;
    expect(scrubText(`a ${outer} b ${inner}`, [inner, outer])).toBe(`a ${REDACTED} b ${REDACTED}`);
  });

  test('data: every string in results and details, keys and non-text kept', () => {
    const value = { message: `echo ${secret}`, list: [1, `x${secret}`, { deep: secret }], ok: true, n: null };
    expect(scrubValue(value, [secret])).toEqual({
      message: `echo ${REDACTED}`,
      list: [1, `x${REDACTED}`, { deep: REDACTED }],
      ok: true,
      n: null,
    });
    expect(value.message).toContain(secret); // a copy, the input untouched
  });

  test('a URL kept as a secret is secret in its path too (a receiver may echo only the path)', () => {
    const s = new SecretScrubber();
    const path = `/services/T0/B0/${testToken('slack')}`;
    s.add(`https://hooks.example.test${path}`);
    expect(s.text(`404 no such hook: POST ${path}`)).toBe(`404 no such hook: POST ${REDACTED}`);
    expect(s.text('see https://hooks.example.test/status')).toBe('see https://hooks.example.test/status');
  });

  test('a scrubber keeps what it was given, trimmed as file secrets are', () => {
    const s = new SecretScrubber();
    s.add(`${secret}\n`);
    expect(s.text(`token ${secret}.`)).toBe(`token ${REDACTED}.`);
  });
});

describe('the secrets a worker resolved', () => {
  test('every resolved value is recorded, from env and from files', () => {
    const fromEnv = testToken('env');
    const fromFile = testToken('file');
    const file = join(mkdtempSync(join(tmpdir(), 'scrub-')), 'secret');
    writeFileSync(file, `${fromFile}\n`);
    resolveSecret({ env: 'SCRUB_TEST_TOKEN' }, 'x.token', { SCRUB_TEST_TOKEN: fromEnv });
    resolveSecret({ file }, 'x.password');
    expect(scrubSecrets(`${fromEnv} and ${fromFile}`)).toBe(`${REDACTED} and ${REDACTED}`);
  });

  test("a config's secrets are all known up front, unused ones included; a missing one is not an error", () => {
    const tokens = { lb: testToken('cfg-lb'), pg: testToken('cfg-pg'), hook: testToken('cfg-hook') };
    const config = parseConfigText(
      JSON.stringify({
        postgres: { main: { database: 'app', password: { env: 'CFG_PG' } } },
        loadBalancers: { edge: { type: 'http-api', url: 'http://127.0.0.1:1/api', token: { env: 'CFG_LB' } } },
        notifiers: {
          ops: { type: 'webhook', url: 'http://127.0.0.1:1/hook', token: { env: 'CFG_HOOK' } },
          gone: { type: 'webhook', url: 'http://127.0.0.1:1/x', token: { env: 'CFG_UNSET' } },
        },
      }),
      'cfg.json',
    );
    const before = resolvedSecrets.size;
    expect(recordConfiguredSecrets(config, { CFG_LB: tokens.lb, CFG_PG: tokens.pg, CFG_HOOK: tokens.hook })).toBe(3);
    expect(resolvedSecrets.size).toBe(before + 3);
    expect(scrubSecrets({ e: `${tokens.lb} ${tokens.pg} ${tokens.hook}` })).toEqual({
      e: `${REDACTED} ${REDACTED} ${REDACTED}`,
    });
  });
});
