import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { opsflowConfig } from '../../src/config/schema';
import { findWorkflow } from '../../src/client/registry';
import { formatIssues } from '../../src/domain/validation';
import { describeUnknownName } from '../../src/domain/config-names';

/**
 * The yaml and json examples of README.md and docs/*.md are parsed by the schemas they illustrate,
 * so an example that no longer matches the code fails here instead of failing a reader. Each
 * yaml/json block says what it is in an HTML comment on the line right before its fence:
 *
 *   <!-- example: config -->                        some sections of an opsflow config, read as the loader
 *                                                   reads the file (secrets stay unresolved); the config
 *                                                   examples of all pages are one operator config, so a name
 *                                                   one of them uses must be declared by one of them
 *   <!-- example: input <workflow> -->              a whole input of that workflow (type or CLI alias); the
 *                                                   names it uses must be declared by the config examples
 *   <!-- example: input <workflow> fields -->       some fields of that input (`"gate": { … }` may stand
 *                                                   without its braces); each is parsed by its field's schema
 *   <!-- example: other <what it is> -->            not opsflow's (alertmanager.yml, haproxy.cfg, output):
 *                                                   skipped, and says so
 *
 * A yaml/json block without a marker fails, as does an unlabelled block that reads as JSON or as an
 * opsflow config: every example is accounted for.
 */

const root = join(__dirname, '../..');
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

interface Block {
  page: string;
  line: number;
  lang: string;
  text: string;
  marker?: string;
}

const structuredLangs = ['yaml', 'yml', 'json', 'jsonc'];
const MARKER = /^\s*<!--\s*example:\s*(.*?)\s*-->\s*$/;

/** Fenced blocks of a markdown page, with the marker comment right before each (if any). */
function blocksOf(page: string): Block[] {
  const lines = readFileSync(join(root, page), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    let end = i + 1;
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) end++;
    const text = lines
      .slice(i + 1, end)
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
      .join('\n');
    const marker = i > 0 ? lines[i - 1].match(MARKER)?.[1] : undefined;
    out.push({ page, line: i + 1, lang: lang.toLowerCase(), text, marker });
    i = end;
  }
  return out;
}

const configSections = new Set([
  'http',
  'postgres',
  'redis',
  'hosts',
  'systemd',
  'thresholds',
  'notifiers',
  'healthCheckNotify',
  'schedules',
  'loadBalancers',
  'metricSources',
  'incident',
  'baseline',
  'backups',
  'dailyReport',
  'readiness',
  'directories',
  'routers',
  'cutover',
  'deploy',
]);

/** An unlabelled block that is structured data all the same: it needs a marker like a labelled one. */
function looksStructured(text: string): boolean {
  const t = text.trim();
  if (/^[[{]/.test(t)) return true;
  try {
    const v = parseYaml(t);
    return (
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v) &&
      Object.keys(v).length > 0 &&
      Object.keys(v).every((k) => configSections.has(k))
    );
  } catch {
    return false;
  }
}

const isJson = (b: Block) => b.lang.startsWith('json');

function parseData(b: Block): unknown {
  return isJson(b) ? JSON.parse(b.text) : parseYaml(b.text);
}

/** The object schema under refinements and pipes, whose fields a `fields` example is checked against. */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> {
  let s: any = schema;
  for (let i = 0; i < 10 && s; i++) {
    if (s.shape) return s.shape;
    s = s.def?.in ?? s.def?.innerType ?? s.def?.schema;
  }
  throw new Error('the workflow input is not an object schema');
}

/**
 * Config examples layered as one file: sections merged name by name (a later example's
 * `postgres.app` replaces an earlier one's), so a page may name what another page declares.
 */
function mergeConfigs(parts: unknown[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const part of parts) {
    for (const [section, value] of Object.entries((part ?? {}) as Record<string, unknown>)) {
      out[section] =
        typeof value === 'object' && value !== null && !Array.isArray(value)
          ? { ...out[section], ...(value as Record<string, unknown>) }
          : (value as never);
    }
  }
  return out;
}

const allBlocks = pages.flatMap(blocksOf);
const examples = allBlocks.filter(
  (b) => b.marker !== undefined || structuredLangs.includes(b.lang) || (b.lang === '' && looksStructured(b.text)),
);
const at = (b: Block) => `${b.page}:${b.line}`;
const configExamples = examples.filter((b) => b.marker === 'config');
const docsConfig = () => opsflowConfig.parse(mergeConfigs(configExamples.map(parseData)));

describe('the examples in README.md and docs/*.md', () => {
  test('there are examples, and every yaml/json block is marked as config, input or other', () => {
    const unmarked = examples.filter((b) => b.marker === undefined).map(at);
    expect(unmarked).toEqual([]);
    expect(examples.filter((b) => b.marker?.startsWith('config')).length).toBeGreaterThan(5);
    expect(examples.filter((b) => b.marker?.startsWith('input')).length).toBeGreaterThan(5);
  });

  test.each(examples.filter((b) => b.marker !== undefined).map((b) => [at(b), b] as const))(
    '%s parses against its schema',
    (_where, b) => {
      const [kind, ...rest] = b.marker!.split(/\s+/);
      switch (kind) {
        case 'config': {
          expect(rest).toEqual([]);
          // The loader's schema and cross-references, on this example over all the others; the
          // issues in what this example declares are its own.
          const own = parseData(b) as Record<string, unknown>;
          const r = opsflowConfig.safeParse(mergeConfigs([...configExamples.map(parseData), own]));
          const declares = (path: PropertyKey[]) => {
            const section = own[String(path[0])];
            return (
              path[0] in own &&
              (path.length < 2 || typeof section !== 'object' || section === null || String(path[1]) in section)
            );
          };
          const issues = r.success ? [] : r.error.issues.filter((i) => declares(i.path));
          expect(issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
          return;
        }
        case 'input': {
          const [name, mode] = rest;
          const entry = findWorkflow(name ?? '');
          if (!entry) throw new Error(`marker names no workflow: "${b.marker}"`);
          if (mode === undefined) {
            const r = entry.input.safeParse(parseData(b));
            if (!r.success) throw new Error(`invalid ${entry.type} input:\n${formatIssues(r.error)}`);
            // The names it uses are the CLI's check against the config the docs' examples make up.
            expect(
              entry.inputNames(r.data, docsConfig()).map((u) => describeUnknownName(u, "the docs' config examples")),
            ).toEqual([]);
            return;
          }
          expect(mode).toBe('fields');
          const t = b.text.trim();
          const data = (isJson(b) && t.startsWith('"') ? JSON.parse(`{${t}}`) : parseData(b)) as Record<
            string,
            unknown
          >;
          const shape = objectShape(entry.input);
          for (const [field, value] of Object.entries(data)) {
            if (!shape[field]) throw new Error(`${entry.type} input has no field "${field}"`);
            const r = shape[field].safeParse(value);
            if (!r.success) throw new Error(`invalid ${entry.type} input field ${field}:\n${formatIssues(r.error)}`);
          }
          return;
        }
        case 'other':
          // Someone else's format: named, so it is skipped on purpose, not by oversight.
          expect(rest.length).toBeGreaterThan(0);
          return;
        default:
          throw new Error(`unknown example marker "${b.marker}" (config, input <workflow> [fields], other <what>)`);
      }
    },
  );
});
