import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionOptions, temporalSettings } from '../../src/client/connection';

/** An env with a home of its own: no developer's ~/.config/temporalio/temporal.toml is read. */
function env(vars: Record<string, string> = {}, toml?: string): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'opsflow-home-'));
  if (toml !== undefined) {
    mkdirSync(join(home, '.config', 'temporalio'), { recursive: true });
    writeFileSync(join(home, '.config', 'temporalio', 'temporal.toml'), toml);
  }
  return { HOME: home, ...vars };
}

const dir = mkdtempSync(join(tmpdir(), 'opsflow-tls-'));
const cert = join(dir, 'client.pem');
const key = join(dir, 'client.key');
writeFileSync(cert, 'CERT');
writeFileSync(key, 'KEY');

const profiles = `
[profile.default]
address = "temporal.internal:7233"
namespace = "ops"

[profile.cloud]
address = "ops.a1b2c.tmprl.cloud:7233"
namespace = "ops.a1b2c"
api_key = "from-profile"

[profile.mtls]
address = "temporal.secure:7233"
[profile.mtls.tls]
client_cert_path = "${cert}"
client_key_path = "${key}"
server_name = "temporal.secure"
`;

describe('Temporal connection settings, read as the temporal CLI reads them', () => {
  test('nothing set: the dev server', () => {
    expect(temporalSettings(env())).toEqual({ address: '127.0.0.1:7233', namespace: 'default' });
  });

  test('the default profile of ~/.config/temporalio/temporal.toml', () => {
    expect(temporalSettings(env({}, profiles))).toEqual({ address: 'temporal.internal:7233', namespace: 'ops' });
  });

  test('TEMPORAL_PROFILE picks another; an API key turns TLS on', () => {
    const s = temporalSettings(env({ TEMPORAL_PROFILE: 'cloud' }, profiles));
    expect(s).toEqual({
      address: 'ops.a1b2c.tmprl.cloud:7233',
      namespace: 'ops.a1b2c',
      apiKey: 'from-profile',
      tls: true,
    });
    expect(connectionOptions(s)).toEqual({ address: 'ops.a1b2c.tmprl.cloud:7233', tls: true, apiKey: 'from-profile' });
  });

  test('a profile with mTLS: the certificate pair and the server name', () => {
    const s = temporalSettings(env({ TEMPORAL_PROFILE: 'mtls' }, profiles));
    expect(s.address).toBe('temporal.secure:7233');
    const tls = s.tls as { clientCertPair: { crt: Buffer; key: Buffer }; serverNameOverride?: string };
    expect(Buffer.from(tls.clientCertPair.crt).toString()).toBe('CERT');
    expect(Buffer.from(tls.clientCertPair.key).toString()).toBe('KEY');
    expect(tls.serverNameOverride).toBe('temporal.secure');
  });

  test('TEMPORAL_* variables override the profile, and the CLI flags override both', () => {
    const e = env(
      {
        TEMPORAL_PROFILE: 'cloud',
        TEMPORAL_ADDRESS: 'other:7233',
        TEMPORAL_API_KEY: 'from-env',
        TEMPORAL_GRPC_META_X_TEAM: 'ops',
      },
      profiles,
    );
    expect(temporalSettings(e)).toMatchObject({
      address: 'other:7233',
      namespace: 'ops.a1b2c',
      apiKey: 'from-env',
      metadata: { 'x-team': 'ops' },
    });
    expect(temporalSettings(e, { address: 'flag:7233', namespace: 'flagged' })).toMatchObject({
      address: 'flag:7233',
      namespace: 'flagged',
    });
    expect(connectionOptions(temporalSettings(e))).toMatchObject({ metadata: { 'x-team': 'ops' } });
  });

  test('TEMPORAL_CONFIG_FILE names the file', () => {
    const file = join(dir, 'elsewhere.toml');
    writeFileSync(file, '[profile.default]\naddress = "elsewhere:7233"\n');
    expect(temporalSettings(env({ TEMPORAL_CONFIG_FILE: file }, profiles)).address).toBe('elsewhere:7233');
    expect(() => temporalSettings(env({ TEMPORAL_CONFIG_FILE: join(dir, 'missing.toml') }))).toThrow(
      /TEMPORAL_CONFIG_FILE: .*missing.toml does not exist/,
    );
  });

  test("mTLS from the variables, under Temporal's names and under opsflow's older ones", () => {
    const forms: Record<string, string>[] = [
      { TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: key },
      { TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key },
    ];
    for (const vars of forms) {
      const tls = temporalSettings(env(vars)).tls as { clientCertPair: { crt: Buffer; key: Buffer } };
      expect(Buffer.from(tls.clientCertPair.crt).toString()).toBe('CERT');
      expect(Buffer.from(tls.clientCertPair.key).toString()).toBe('KEY');
    }
  });

  test('mistakes are refused naming what is wrong', () => {
    expect(() => temporalSettings(env({ TEMPORAL_TLS_CERT: cert }))).toThrow(/certificate and key go together/);
    expect(() => temporalSettings(env({ TEMPORAL_TLS_CLIENT_KEY_PATH: key }))).toThrow(
      /certificate and key go together/,
    );
    expect(() => temporalSettings(env({ TEMPORAL_PROFILE: 'staging' }, profiles))).toThrow(
      /profile staging.*Profile 'staging' not found/,
    );
    expect(() => temporalSettings(env({}, 'this is = not toml ['))).toThrow(/Temporal connection settings/);
  });
});
