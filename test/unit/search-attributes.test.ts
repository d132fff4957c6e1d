import {
  ensureSearchAttributes,
  registerSearchAttributesSetting,
  SearchAttributesMissing,
  SearchAttributesUnchecked,
  type OperatorService,
} from '../../src/client/search-attributes';
import { opsflowSearchAttributes } from '../../src/domain/search-attributes';

const where = { address: '127.0.0.1:7233', namespace: 'prod' };
const KEYWORD = 2;
const TEXT = 1;

/** An operator service whose answers the test decides (the dev-server paths are in test/e2e/worker-startup). */
function operator(
  registered: Record<string, number>,
  add: (attrs: Record<string, number>) => void | Promise<void> = (a) => void Object.assign(registered, a),
): OperatorService {
  return {
    listSearchAttributes: async () => ({ customAttributes: { ...registered } }),
    addSearchAttributes: async (req) => add(req.searchAttributes),
  };
}

describe("the worker's search-attribute check", () => {
  const all = Object.fromEntries(opsflowSearchAttributes.map((k) => [k.name, KEYWORD]));

  test('a registration the server refuses: refused, naming what failed and the command', async () => {
    const op = operator({ OpsflowHealth: KEYWORD }, () => {
      throw new Error('7 PERMISSION_DENIED: Request unauthorized.');
    });
    const err = await ensureSearchAttributes(op, where, { register: true }).catch((e) => e);
    expect(err).toBeInstanceOf(SearchAttributesMissing);
    expect(err.message).toContain(
      'namespace "prod" lacks opsflow\'s search attributes OpsflowService, OpsflowStep, OpsflowMigration, OpsflowPhase, OpsflowSeverity, OpsflowState, OpsflowCommit:',
    );
    expect(err.message).toContain('Registering them failed: 7 PERMISSION_DENIED: Request unauthorized.');
    expect(err.message).toContain(
      'temporal operator search-attribute create --address 127.0.0.1:7233 --namespace prod --name OpsflowService --type Keyword --name OpsflowStep --type Keyword',
    );
  });

  test('another worker registering at the same moment is no failure', async () => {
    const registered: Record<string, number> = {};
    const op = operator(registered, () => {
      Object.assign(registered, all);
      throw new Error('6 ALREADY_EXISTS: search attribute already exists');
    });
    await expect(ensureSearchAttributes(op, where, { register: true })).resolves.toEqual([]);
  });

  test('an attribute registered with another type is refused, saying how to fix it', async () => {
    const err = await ensureSearchAttributes(operator({ ...all, OpsflowState: TEXT }), where, { register: true }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(SearchAttributesMissing);
    expect(err.message).toBe(
      'search attribute OpsflowState is registered as Text in namespace "prod"; opsflow needs Keyword: remove it ' +
        '(temporal operator search-attribute remove --address 127.0.0.1:7233 --namespace prod --name OpsflowState --yes) and create it as Keyword.',
    );
  });

  test('a server that will not list them: a warning naming what to check, not a refusal', async () => {
    const op: OperatorService = {
      listSearchAttributes: async () => Promise.reject(new Error('7 PERMISSION_DENIED')),
      addSearchAttributes: async () => undefined,
    };
    const err = await ensureSearchAttributes(op, where, { register: true }).catch((e) => e);
    expect(err).toBeInstanceOf(SearchAttributesUnchecked);
    expect(err.message).toContain(
      'check with temporal operator search-attribute list --address 127.0.0.1:7233 --namespace prod',
    );
  });

  test('OPSFLOW_REGISTER_SEARCH_ATTRIBUTES: true by default, false to only check, anything else named', () => {
    expect(registerSearchAttributesSetting({})).toBe(true);
    expect(registerSearchAttributesSetting({ OPSFLOW_REGISTER_SEARCH_ATTRIBUTES: 'false' })).toBe(false);
    expect(registerSearchAttributesSetting({ OPSFLOW_REGISTER_SEARCH_ATTRIBUTES: 'no' })).toBe(false);
    expect(() => registerSearchAttributesSetting({ OPSFLOW_REGISTER_SEARCH_ATTRIBUTES: 'maybe' })).toThrow(
      'OPSFLOW_REGISTER_SEARCH_ATTRIBUTES: "maybe" is neither true nor false',
    );
  });
});
