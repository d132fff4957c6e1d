import type { SearchAttributeType } from '@temporalio/common';
import { opsflowSearchAttributes } from '../domain/search-attributes';

/** temporal.api.enums.v1.IndexedValueType, as the operator service sends and takes it. */
type IndexedValueType = number;

/** The operator service as both the client's Connection and the worker's NativeConnection offer it. */
export interface OperatorService {
  listSearchAttributes(req: {
    namespace: string;
  }): Promise<{ customAttributes?: Record<string, IndexedValueType> | null }>;
  addSearchAttributes(req: { namespace: string; searchAttributes: Record<string, IndexedValueType> }): Promise<unknown>;
}

/** SDK type → server enum and the name the `temporal` CLI takes for `--type`. */
const types: Record<SearchAttributeType, { indexed: IndexedValueType; cli: string }> = {
  TEXT: { indexed: 1, cli: 'Text' },
  KEYWORD: { indexed: 2, cli: 'Keyword' },
  INT: { indexed: 3, cli: 'Int' },
  DOUBLE: { indexed: 4, cli: 'Double' },
  BOOL: { indexed: 5, cli: 'Bool' },
  DATETIME: { indexed: 6, cli: 'Datetime' },
  KEYWORD_LIST: { indexed: 7, cli: 'KeywordList' },
};
const cliTypeOf = (indexed: IndexedValueType) =>
  Object.values(types).find((t) => t.indexed === indexed)?.cli ?? `type ${indexed}`;

export interface SearchAttributeKeyLike {
  name: string;
  type: SearchAttributeType;
}

interface SearchAttributeState {
  missing: SearchAttributeKeyLike[];
  /** Registered under the name with another type: the workflows' upserts would be refused as well. */
  wrongType: { key: SearchAttributeKeyLike; registeredAs: string }[];
}

/** Which of `wanted` the namespace lacks or has with the wrong type. */
async function searchAttributeState(
  op: OperatorService,
  namespace: string,
  wanted: SearchAttributeKeyLike[] = opsflowSearchAttributes,
): Promise<SearchAttributeState> {
  const registered = (await op.listSearchAttributes({ namespace })).customAttributes ?? {};
  const state: SearchAttributeState = { missing: [], wrongType: [] };
  for (const key of wanted) {
    const have = registered[key.name];
    if (have === undefined) state.missing.push(key);
    else if (have !== types[key.type].indexed) state.wrongType.push({ key, registeredAs: cliTypeOf(have) });
  }
  return state;
}

/**
 * The `temporal operator search-attribute create` command that registers `keys`. The CLI pairs the
 * n-th --name with the n-th --type (with one --type it registers only the first name), so each
 * name gets its own --type.
 */
function registerCommand(keys: SearchAttributeKeyLike[], where: { address: string; namespace: string }): string {
  return (
    `temporal operator search-attribute create --address ${where.address} --namespace ${where.namespace} ` +
    keys.map((k) => `--name ${k.name} --type ${types[k.type].cli}`).join(' ')
  );
}

/** The namespace lacks search attributes opsflow's workflows set; the message says which and how to fix it. */
export class SearchAttributesMissing extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchAttributesMissing';
  }
}

/** The server would not list the namespace's search attributes (a role without the right): a warning, not a refusal. */
export class SearchAttributesUnchecked extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchAttributesUnchecked';
  }
}

/** How the worker treats missing attributes: OPSFLOW_REGISTER_SEARCH_ATTRIBUTES=true (default) or false. */
export function registerSearchAttributesSetting(env: NodeJS.ProcessEnv): boolean {
  const v = (env.OPSFLOW_REGISTER_SEARCH_ATTRIBUTES ?? 'true').trim().toLowerCase();
  if (['true', '1', 'yes', 'auto', ''].includes(v)) return true;
  if (['false', '0', 'no', 'never'].includes(v)) return false;
  throw new Error(
    `OPSFLOW_REGISTER_SEARCH_ATTRIBUTES: "${env.OPSFLOW_REGISTER_SEARCH_ATTRIBUTES}" is neither true nor false`,
  );
}

/**
 * Makes sure the namespace has opsflow's search attributes before a worker polls: without them
 * every workflow that upserts one fails its workflow task with BadSearchAttributes and stays
 * Running forever, doing nothing. Missing ones are registered when `register` is set and the
 * server lets us; otherwise this throws SearchAttributesMissing naming each and the command that
 * registers them. Returns the names it registered.
 */
export async function ensureSearchAttributes(
  op: OperatorService,
  where: { address: string; namespace: string },
  opts: { register: boolean; wanted?: SearchAttributeKeyLike[] },
): Promise<string[]> {
  const wanted = opts.wanted ?? opsflowSearchAttributes;
  let state: SearchAttributeState;
  try {
    state = await searchAttributeState(op, where.namespace, wanted);
  } catch (err) {
    throw new SearchAttributesUnchecked(
      `could not list the search attributes of namespace "${where.namespace}" (${(err as Error).message}); they are not checked. ` +
        `If ${wanted.map((k) => k.name).join(', ')} are missing, runs that set them stay Running: ` +
        `check with temporal operator search-attribute list --address ${where.address} --namespace ${where.namespace}`,
    );
  }
  let registrationError: string | undefined;
  const registered: string[] = [];
  if (opts.register && state.missing.length) {
    try {
      await op.addSearchAttributes({
        namespace: where.namespace,
        searchAttributes: Object.fromEntries(state.missing.map((k) => [k.name, types[k.type].indexed])),
      });
      registered.push(...state.missing.map((k) => k.name));
    } catch (err) {
      // Another worker may have registered them at the same moment; the re-read below decides.
      registrationError = (err as Error).message;
    }
    state = await searchAttributeState(op, where.namespace, wanted);
  }
  if (!state.missing.length && !state.wrongType.length) return registered;

  const lines: string[] = [];
  if (state.missing.length) {
    lines.push(
      `namespace "${where.namespace}" lacks opsflow's search attributes ${state.missing.map((k) => k.name).join(', ')}: ` +
        'every workflow that sets them would fail its workflow tasks with BadSearchAttributes and stay Running.',
    );
    if (registrationError) lines.push(`Registering them failed: ${registrationError}`);
    lines.push('Register them once for the namespace (with TLS or API-key options as your cluster needs):');
    lines.push(`  ${registerCommand(state.missing, where)}`);
    if (!opts.register)
      lines.push('or let the worker register them: unset OPSFLOW_REGISTER_SEARCH_ATTRIBUTES (or set it to true).');
  }
  for (const w of state.wrongType) {
    lines.push(
      `search attribute ${w.key.name} is registered as ${w.registeredAs} in namespace "${where.namespace}"; opsflow needs ${types[w.key.type].cli}: ` +
        `remove it (temporal operator search-attribute remove --address ${where.address} --namespace ${where.namespace} --name ${w.key.name} --yes) and create it as ${types[w.key.type].cli}.`,
    );
  }
  throw new SearchAttributesMissing(lines.join('\n'));
}
