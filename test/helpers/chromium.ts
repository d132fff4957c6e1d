import { execFile } from 'node:child_process';
import { resolve, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Web UI screenshots are kept for people to look at. */
export const artifacts = join(resolve(__dirname, '../..'), '.artifacts');

/** Headless Chromium's rendering of a page: its DOM after scripts ran, and a screenshot. */
export async function chromium(url: string, screenshot: string): Promise<string> {
  const bin = await run('sh', ['-c', 'command -v chromium || command -v chromium-browser'])
    .then((r) => r.stdout.trim())
    .catch(() => '');
  if (!bin)
    throw new Error('chromium is not installed (scripts/setup.sh installs it): the Web UI test needs a browser');
  const common = [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--window-size=1400,1400',
    '--virtual-time-budget=20000',
  ];
  await run(bin, [...common, `--screenshot=${screenshot}`, url], { timeout: 120_000 });
  return (await run(bin, [...common, '--dump-dom', url], { timeout: 120_000, maxBuffer: 32 * 1024 * 1024 })).stdout;
}

/**
 * A page that keeps polling (a running workflow's page never settles for --dump-dom), read over
 * Chromium's DevTools protocol: waits up to `timeoutMs` until its text holds every `expected`
 * string, saves a screenshot, and returns the text; fails with the text it did show.
 */
export async function chromiumPage(
  url: string,
  screenshot: string,
  expected: string[],
  timeoutMs = 120_000,
): Promise<string> {
  const bin = await run('sh', ['-c', 'command -v chromium || command -v chromium-browser'])
    .then((r) => r.stdout.trim())
    .catch(() => '');
  if (!bin)
    throw new Error('chromium is not installed (scripts/setup.sh installs it): the Web UI test needs a browser');
  const script = join(__dirname, 'chromium-page.js');
  try {
    const out = await run(
      process.execPath,
      ['--experimental-websocket', '--no-warnings', script, bin, url, screenshot, String(timeoutMs), ...expected],
      { timeout: timeoutMs + 60_000, maxBuffer: 32 * 1024 * 1024 },
    );
    return out.stdout;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${url}: ${e.stderr?.trim() || e.message}\nthe page showed:\n${e.stdout ?? ''}`);
  }
}
