// Debian's Chromium, headless, driven by playwright-core (Playwright's own browser
// download does not work here). Each test gets a fresh profile directory; the pages are
// served from this directory by routing /e2e/* of the fieldsync origin, so they are
// same-origin with the server (WebSocket origin check, no CORS) and load even while the
// server is stopped.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const pagesDir = join(here, '..', 'pages');
const bundle = join(here, '..', '..', 'dist', 'fieldsync-client.js');

export function chromiumPath() {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium']) {
    if (p && existsSync(p)) return p;
  }
  throw new Error('no Chromium: apt-get install chromium (scripts/setup does)');
}

const types = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json' };

// `mount` and `dir`: which path of the origin serves which directory (the bundle is
// <mount>fieldsync-client.js). Without an origin, nothing is routed (a page from a real
// server). `contextOptions` go to launchPersistentContext (viewport, ...). `profile`: a
// profile directory to reuse (an installed app started again), kept on close; by default
// a fresh one, removed on close.
export async function launch(origin, { mount = '/e2e/', dir = pagesDir, contextOptions = {}, profile: kept = null } = {}) {
  const profile = kept ?? mkdtempSync(join(tmpdir(), 'fieldsync-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    ...contextOptions,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // The pages come from route interception, which gives them no IP address: Chromium
      // then counts them as public and blocks their WebSocket to the loopback server.
      '--disable-features=LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets',
    ],
  });
  if (origin) await context.route(`${origin}${mount}**`, async (route) => {
    const path = new URL(route.request().url()).pathname.slice(mount.length);
    const file = path === 'fieldsync-client.js' ? bundle : join(dir, path);
    if (!existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
    const ext = file.slice(file.lastIndexOf('.'));
    await route.fulfill({ status: 200, contentType: types[ext] ?? 'application/octet-stream', body: readFileSync(file) });
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      if (!kept) rmSync(profile, { recursive: true, force: true });
    },
  };
}
