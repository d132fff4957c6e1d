import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The app a deploy test ships: serves `{name, version}` on $PORT, `/health` (500 when the commit
 * has a BROKEN file; with a FLAP file every other request, `/health` or not, is a 503), `/slow?ms=N` (holds the response N ms, default 4000, for drains). On SIGTERM it stops accepting and
 * finishes what it has, as a real service does for a zero-failure restart.
 */
const SERVER_JS = `'use strict';
const http = require('http'), fs = require('fs'), path = require('path');
const version = fs.readFileSync(path.join(__dirname, 'VERSION'), 'utf8').trim();
const broken = fs.existsSync(path.join(__dirname, 'BROKEN'));
const flap = fs.existsSync(path.join(__dirname, 'FLAP'));
let served = 0;
const server = http.createServer((req, res) => {
  if (flap && ++served % 2 === 0) { res.writeHead(503); return res.end('flapping'); }
  if (req.url === '/health') { res.writeHead(broken ? 500 : 200); return res.end(version); }
  const body = JSON.stringify({ name: process.env.NAME, version });
  if (req.url.startsWith('/slow')) return setTimeout(() => res.end(body), Number(new URL(req.url, 'http://x').searchParams.get('ms') || 4000));
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
});
server.keepAliveTimeout = 1000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeIdleConnections(); setTimeout(() => process.exit(0), 8000).unref(); });
`;

export interface AppRepo {
  /** The bare repository a deploy clones (a path `git clone` takes). */
  bare: string;
  /** Commit ids by tag: v1, v2 (good), bad (health check fails), flap (503 on every other request). */
  commits: Record<'v1' | 'v2' | 'bad' | 'flap', string>;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@localhost',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@localhost',
    },
  }).trim();
}

/** A real bare git repository with four tagged commits of the app, on branch main (at v2). */
export function makeAppRepo(): AppRepo {
  const dir = mkdtempSync(join(tmpdir(), 'opsflow-deploy-repo-'));
  const work = join(dir, 'work');
  const bare = join(dir, 'app.git');
  mkdirSync(work);
  git(work, 'init', '-q', '-b', 'main');
  writeFileSync(join(work, 'server.js'), SERVER_JS);
  const commit = (version: string, broken: boolean, flap = false) => {
    writeFileSync(join(work, 'VERSION'), `${version}\n`);
    if (broken) writeFileSync(join(work, 'BROKEN'), 'health check fails\n');
    if (flap) writeFileSync(join(work, 'FLAP'), 'every other request is a 503\n');
    else rmSync(join(work, 'FLAP'), { force: true });
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', version);
    git(work, 'tag', version);
    return git(work, 'rev-parse', 'HEAD');
  };
  const v1 = commit('v1', false);
  const v2 = commit('v2', false);
  const flap = commit('flap', false, true);
  const bad = commit('bad', true);
  // main is the good head; the bad commit stays reachable through its tag.
  git(work, 'reset', '-q', '--hard', v2);
  git(dir, 'clone', '-q', '--bare', work, bare);
  return { bare, commits: { v1, v2, bad, flap } };
}
