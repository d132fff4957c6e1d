import { parseConfigText } from '../../src/config/load';
import { JWT_ALGORITHMS } from '../../src/config/sections/encryption';

/**
 * The codec server's JWKS authentication in the config: where the keys may come from, what a token
 * must carry, and an error naming the field for anything else. (The verification itself runs
 * against a real JWKS server in test/e2e/codec-jwks.e2e.test.ts.)
 */
describe('codec server config: auth { jwks }', () => {
  const cfg = (codecServer: unknown) =>
    parseConfigText(
      JSON.stringify({ encryption: { keys: [{ id: 'a', key: { env: 'K_A' } }], current: 'a', codecServer } }),
      'c.json',
    ).encryption!.codecServer!;
  const jwks = (over: Record<string, unknown> = {}) => ({
    auth: {
      jwks: { url: 'https://idp.example.com/.well-known/jwks.json', issuer: 'https://idp.example.com/', ...over },
    },
  });

  test('an https JWKS with an issuer is enough: no token needed, the defaults are the asymmetric algorithms and jose-like bounds', () => {
    const server = cfg(jwks());
    expect(server.token).toBeUndefined();
    expect(server.auth).toEqual({
      jwks: {
        url: 'https://idp.example.com/.well-known/jwks.json',
        issuer: 'https://idp.example.com/',
        algorithms: [...JWT_ALGORITHMS],
        timeoutMs: 5_000,
        cacheMaxAgeMs: 600_000,
        cooldownMs: 30_000,
      },
    });
    expect((JWT_ALGORITHMS as readonly string[]).filter((a) => a.startsWith('HS') || a === 'none')).toEqual([]);
  });

  test('the token and the JWKS together; an audience as one or several; algorithms chosen', () => {
    const server = cfg({
      token: { env: 'CODEC_TOKEN' },
      ...jwks({ audience: ['temporal-ui', 'opsflow'], algorithms: ['ES256'], timeoutMs: 2000 }),
    });
    expect(server.token).toEqual({ env: 'CODEC_TOKEN' });
    expect(server.auth).toMatchObject({
      jwks: { audience: ['temporal-ui', 'opsflow'], algorithms: ['ES256'], timeoutMs: 2000 },
    });
    expect(cfg(jwks({ audience: 'temporal-ui' })).auth).toMatchObject({ jwks: { audience: 'temporal-ui' } });
  });

  test('http only on a loopback host: any other http JWKS is refused, naming the field and why', () => {
    for (const url of ['http://127.0.0.1:9999/jwks', 'http://localhost:9999/jwks', 'http://[::1]:9999/jwks'])
      expect(cfg(jwks({ url })).auth).toMatchObject({ jwks: { url } });
    expect(() => cfg(jwks({ url: 'http://idp.example.com/jwks' }))).toThrow(
      /encryption\.codecServer\.auth\.jwks\.url: http is allowed only on a loopback host .*not idp\.example\.com: use https/,
    );
    expect(() => cfg(jwks({ url: 'http://10.0.0.5/jwks' }))).toThrow(
      /auth\.jwks\.url: http is allowed only on a loopback/,
    );
    expect(() => cfg(jwks({ url: 'ftp://idp.example.com/jwks' }))).toThrow(
      /auth\.jwks\.url: an https URL \(or http on a loopback host\), not ftp:/,
    );
    expect(() => cfg(jwks({ url: 'not a url' }))).toThrow(/encryption\.codecServer\.auth\.jwks\.url: /);
  });

  test('each other mistake names its field', () => {
    expect(() => cfg(jwks({ issuer: '' }))).toThrow(/encryption\.codecServer\.auth\.jwks\.issuer: /);
    expect(() => cfg({ auth: { jwks: { url: 'https://idp.example.com/jwks' } } })).toThrow(
      /encryption\.codecServer\.auth\.jwks\.issuer: /,
    );
    expect(() => cfg(jwks({ algorithms: ['HS256'] }))).toThrow(/encryption\.codecServer\.auth\.jwks\.algorithms\.0: /);
    expect(() => cfg(jwks({ algorithms: ['none'] }))).toThrow(/auth\.jwks\.algorithms\.0: /);
    expect(() => cfg(jwks({ algorithms: [] }))).toThrow(/auth\.jwks\.algorithms: /);
    expect(() => cfg(jwks({ audience: [] }))).toThrow(/auth\.jwks\.audience/);
    expect(() => cfg(jwks({ timeoutMs: 0 }))).toThrow(/auth\.jwks\.timeoutMs: /);
    expect(() => cfg(jwks({ timeoutMs: 120_000 }))).toThrow(/auth\.jwks\.timeoutMs: /);
    expect(() => cfg(jwks({ issuers: 'x' }))).toThrow(
      /encryption\.codecServer\.auth\.jwks: Unrecognized key: "issuers"/,
    );
    expect(() => cfg({ auth: 'oidc' })).toThrow(
      /encryption\.codecServer\.auth: token \(the configured token\), none \(loopback only\), or \{ jwks: \{ url, issuer/,
    );
    expect(() => cfg({ auth: { jwk: {} } })).toThrow(/encryption\.codecServer\.auth: Unrecognized key: "jwk"/);
  });

  test('auth token still needs the token, and none still only on loopback', () => {
    expect(() => cfg({ origins: [] })).toThrow(
      /encryption\.codecServer\.token: required unless auth is none or \{ jwks \}/,
    );
    expect(() => cfg({ auth: 'none', host: '0.0.0.0' })).toThrow(
      /encryption\.codecServer\.auth: none is allowed only on a loopback host, not 0\.0\.0\.0/,
    );
    expect(cfg({ ...jwks(), host: '0.0.0.0' }).host).toBe('0.0.0.0');
  });
});
