import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readInputArg } from '../../src/client/input';

describe('opsflow --input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'input-'));

  test('inline JSON, a JSON file and a YAML file give the same input', () => {
    writeFileSync(join(dir, 'in.json'), '{"targets":{"http":["web"]}}');
    writeFileSync(join(dir, 'in.yaml'), 'targets:\n  http: [web]\n');
    const want = { targets: { http: ['web'] } };
    expect(readInputArg('{"targets":{"http":["web"]}}')).toEqual(want);
    expect(readInputArg(join(dir, 'in.json'))).toEqual(want);
    expect(readInputArg(join(dir, 'in.yaml'))).toEqual(want);
    expect(readInputArg(undefined)).toEqual({});
  });

  test('bad JSON, bad YAML and a missing file are named', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'targets: [\n');
    expect(() => readInputArg('{"targets":')).toThrow(/invalid --input:\nnot valid JSON/);
    expect(() => readInputArg(join(dir, 'bad.yaml'))).toThrow(/bad\.yaml:\nnot valid YAML/);
    expect(() => readInputArg(join(dir, 'nope.json'))).toThrow(/no such file: .*nope\.json/);
  });
});
