import { Stack } from '../helpers/stack';
import { freePort } from '../helpers/ports';
import { opsflowSearchAttributes } from '../../src/domain/search-attributes';

/**
 * `opsflow search-attributes ensure`, the one-shot set-up step of the compose stack and of the
 * Kubernetes Job: on a namespace without the attributes it registers them, run again it changes
 * nothing and still succeeds, and a failure is an exit status, never hidden.
 */
jest.setTimeout(180_000);

describe('opsflow search-attributes ensure (dev server without the attributes)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ searchAttributes: false });
  }, 120_000);
  afterAll(async () => stack?.stop(), 60_000);

  const registered = async () =>
    Object.keys(
      (await stack.client.connection.operatorService.listSearchAttributes({ namespace: 'default' })).customAttributes ??
        {},
    );
  const names = opsflowSearchAttributes.map((k) => k.name);

  test('registers what is missing, then runs again harmlessly', async () => {
    expect(await registered()).not.toEqual(expect.arrayContaining(names));
    const first = await stack.cli(['search-attributes', 'ensure']);
    expect(first).toMatchObject({
      code: 0,
      stdout: expect.stringContaining(`registered ${names.join(', ')} in namespace default`),
    });
    expect(await registered()).toEqual(expect.arrayContaining(names));
    const again = await stack.cli(['search-attributes', 'ensure']);
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining(`all ${names.length} already registered`) });
  });

  test('a server it cannot reach is a failure (exit 1), not a silent success', async () => {
    const closed = await freePort();
    const r = await stack.cli(['search-attributes', 'ensure'], { TEMPORAL_ADDRESS: `127.0.0.1:${closed}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^opsflow: /);
  });
});
