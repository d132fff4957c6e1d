// Why: a page that keeps polling (the Web UI of a running workflow) never lets headless Chromium's
// --dump-dom settle, so this drives Chromium over its DevTools protocol instead: open the page, wait
// (bounded) until its text holds every expected string, print that text, save a screenshot.
// Run as `node --experimental-websocket chromium-page.js <chromium> <url> <png> <timeoutMs> <text>...`
// (Node 20 has WebSocket behind that flag); exits 1 with what the page did show on a time-out.
const { spawn } = require('node:child_process');
const { writeFileSync, mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const [bin, url, png, timeoutArg, ...expected] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutArg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const profile = mkdtempSync(join(tmpdir(), 'opsflow-chromium-'));
  const browser = spawn(
    bin,
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--window-size=1400,1400',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  try {
    // Chromium says where its DevTools listen on stderr.
    let err = '';
    browser.stderr.on('data', (d) => (err += d));
    let wsUrl;
    while (!(wsUrl = /DevTools listening on (ws:\/\/\S+)/.exec(err)?.[1])) {
      if (Date.now() > deadline) throw new Error(`chromium did not start: ${err.slice(-2000)}`);
      await sleep(100);
    }
    const port = new URL(wsUrl).port;
    const pages = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const page = pages.find((p) => p.type === 'page');
    const ws = new WebSocket(page.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
    let next = 0;
    const waiting = new Map();
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.id !== undefined && waiting.has(msg.id)) {
        waiting.get(msg.id)(msg);
        waiting.delete(msg.id);
      }
    };
    const call = (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = ++next;
        waiting.set(id, (msg) =>
          msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result),
        );
        ws.send(JSON.stringify({ id, method, params }));
      });
    await call('Page.enable');
    await call('Page.navigate', { url });
    let text = '';
    for (;;) {
      // The UI renders Markdown (current details) in a sandboxed same-origin iframe: its text is read too.
      const expression = `[document.body, ...[...document.querySelectorAll('iframe')].map((f) => { try { return f.contentDocument && f.contentDocument.body; } catch { return null; } })]
        .filter(Boolean).map((b) => b.innerText).join('\\n')`;
      const r = await call('Runtime.evaluate', { expression, returnByValue: true }).catch(() => undefined);
      // the UI's Markdown typesets "1/2" with a fraction slash and ' as ’: read them back as written
      text = (r?.result?.value ?? '').replace(/\u2044/g, '/').replace(/\u2019/g, "'");
      if (expected.every((e) => text.includes(e))) break;
      if (Date.now() > deadline) {
        process.stdout.write(text);
        process.stderr.write(`the page never showed: ${expected.filter((e) => !text.includes(e)).join(' | ')}\n`);
        await shoot(call);
        process.exitCode = 1;
        return;
      }
      await sleep(500);
    }
    await shoot(call);
    process.stdout.write(text);
    ws.close();
  } finally {
    browser.kill('SIGKILL');
  }
}

async function shoot(call) {
  const shot = await call('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
  writeFileSync(png, Buffer.from(shot.data, 'base64'));
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exitCode = 1;
});
