import { parseConfigText } from '../../src/config/load';
import { uiDecodeProblem } from '../../src/client/codec/ui-access';

/**
 * Whether the dev server's Web UI (a browser, no sign-in) can decode through the configured codec
 * server, which `npm run dev` says in its banner instead of claiming the UI decodes.
 */
describe('the dev Web UI and the codec server', () => {
  const ui = ['http://localhost:8233', 'http://127.0.0.1:8233'];
  const server = (codecServer: Record<string, unknown>) =>
    parseConfigText(
      JSON.stringify({ encryption: { keys: [{ id: 'a', key: { env: 'K_A' } }], current: 'a', codecServer } }),
      'c.json',
    ).encryption!.codecServer!;

  test('the UI origin allowed and no token wanted (loopback): it decodes', () => {
    expect(uiDecodeProblem(server({ origins: ['http://localhost:8233'], auth: 'none' }), ui)).toBeUndefined();
    expect(uiDecodeProblem(server({ origins: ['http://127.0.0.1:8233/'], auth: 'none' }), ui)).toBeUndefined();
  });

  test('a token (the default auth) or a JWKS: the browser sends no bearer token, and the reason names auth none', () => {
    const token = uiDecodeProblem(server({ origins: ['http://localhost:8233'], token: { env: 'CODEC_TOKEN' } }), ui);
    expect(token).toMatch(/auth is token, and the dev UI sends no bearer token: use auth none/);
    expect(token).not.toContain('origins');
    const jwks = uiDecodeProblem(
      server({
        origins: ['http://localhost:8233'],
        auth: { jwks: { url: 'https://idp.example.com/jwks.json', issuer: 'https://idp.example.com/' } },
      }),
      ui,
    );
    expect(jwks).toMatch(/auth is jwks/);
  });

  test("no origin, or another port than the UI's: CORS refuses the browser, and the reason names the UI's origin", () => {
    expect(uiDecodeProblem(server({ auth: 'none' }), ui)).toBe(
      "encryption.codecServer.origins lacks the UI's origin (http://localhost:8233 or http://127.0.0.1:8233)",
    );
    expect(uiDecodeProblem(server({ origins: ['http://localhost:9999'], auth: 'none' }), ui)).toMatch(/origins lacks/);
  });
});
