import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load';
import { checkTools, findExecutable, toolMajor, toolsNeeded } from '../../src/activities/tools-check';
import { freePort } from '../helpers/ports';

/** The worker's start-up check of the executables its activities run, against this machine's own tools and PostgreSQL. */
describe('worker tools check', () => {
  const config = (pgPort = 5432) =>
    parseConfigText(
      JSON.stringify({
        postgres: {
          primary: { host: '127.0.0.1', port: pgPort, database: 'test', user: 'postgres', connectTimeoutMs: 3000 },
        },
        backups: { nightly: { databases: ['primary'], format: 'custom', destination: '/var/backups/opsflow' } },
        deploy: {
          services: {
            shop: {
              repository: 'git@git.example.internal:shop/app.git',
              path: '/srv/shop',
              hosts: { web1: { transport: 'local', healthUrl: 'http://127.0.0.1:8000/health' } },
            },
          },
        },
      }),
      'tools.json',
    );
  const dirs: string[] = [];
  /** A PATH of only these tools: each a symlink to this machine's real one, or a script given here. */
  const pathWith = (tools: Record<string, string | true>) => {
    const dir = mkdtempSync(join(tmpdir(), 'tools-'));
    dirs.push(dir);
    for (const [name, how] of Object.entries(tools)) {
      if (how === true) symlinkSync(findExecutable(name)!, join(dir, name));
      else {
        writeFileSync(join(dir, name), `#!/bin/sh\n${how}\n`);
        chmodSync(join(dir, name), 0o755);
      }
    }
    return dir;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  const realServerMajor = () =>
    Math.floor(
      Number(
        execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-tAc', 'SHOW server_version_num'], {
          encoding: 'utf8',
        }).trim(),
      ) / 10000,
    );

  test('the features name the tools they run', () => {
    expect(
      toolsNeeded(config())
        .map((n) => n.tool)
        .sort(),
    ).toEqual(['git', 'pg_dump', 'pg_restore', 'ssh', 'systemctl']);
    expect(toolMajor('pg_dump (PostgreSQL) 16.4 (Debian 16.4-1.pgdg120+1)')).toBe(16);
    expect(toolMajor('pg_dump (PostgreSQL) 9.6.24')).toBeLessThan(10);
  });

  test("this machine's tools and its PostgreSQL: no warning (pg_dump is as new as the server)", async () => {
    const dumpMajor = toolMajor(execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }))!;
    expect(dumpMajor).toBeGreaterThanOrEqual(realServerMajor());
    expect(await checkTools(config(), process.env)).toEqual([]);
  });

  test('a PATH without git: the warning names git and the deploy service that needs it', async () => {
    const path = pathWith({ pg_dump: true, pg_restore: true, ssh: true, systemctl: true });
    const warnings = await checkTools(config(), { ...process.env, PATH: path });
    expect(warnings).toEqual([
      expect.stringMatching(/^git is not installed \(not found on PATH\), needed by deploy services shop/),
    ]);
  });

  test('a pg_dump older than the server it dumps: the warning gives both versions, asked of the real server', async () => {
    const path = pathWith({
      pg_dump: 'echo "pg_dump (PostgreSQL) 9.6.24"',
      pg_restore: true,
      git: true,
      ssh: true,
      systemctl: true,
    });
    const warnings = await checkTools(config(), { ...process.env, PATH: path });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`postgres.primary runs PostgreSQL ${realServerMajor()}`);
    expect(warnings[0]).toContain(`install pg_dump ${realServerMajor()} or newer`);
  });

  test('a server that cannot be reached is warned about, not a failure', async () => {
    const closed = await freePort();
    const warnings = await checkTools(config(closed), process.env);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^postgres\.primary could not be asked its version \(.*\): pg_dump \d+ is not compared with it$/,
      ),
    ]);
  });
});
