// The field-sales PWA (clients/web/app) in headless Chromium, served by `fieldsync dev`
// itself (server.static_dir) with its embedded PostgreSQL and the demo at scale 0.01 (one
// territory, six reps: rep 1 manages the region, reps 2-6 work the territory). The tests
// share one server and run in order:
//   installability   the manifest and service worker pass Chromium's checks (DevTools)
//   offline day      server stopped: reload from the service worker, two visits and an
//                    opportunity edited offline, page closed; server back: Background
//                    Sync sends the edits; exactly once in PostgreSQL; the KPI tile moved
//   real time        a manager and two reps: an SQL UPDATE of KPIs on all three screens;
//                    a visit clears its "not visited" insight on the manager's screen
//   conflict         two reps change one visit's notes offline: one applied, the other in
//                    the conflicts inbox with both texts; counters add up; re-apply mine
//   consistency      3 devices x 100 random edits with disconnects: every device's
//                    IndexedDB equals the database for its scope, row for row and by digest
// Run: npm run e2e:app (FIELDSYNC_BINARY names the binary; default the release build).
// E2E_SCREENSHOTS=1 writes the screenshots of docs/web.md into docs/images/.
// Timings are printed (E2E_TIMINGS=1 prints each) but never asserted: bench/ measures.
import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RowDigest } from '../dist/fieldsync-client.js';
import { launch as launchBrowser } from './support/browser.mjs';
import { DevServer } from './support/dev.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.FIELDSYNC_BINARY ?? resolve(here, '../../../build/release/server/fieldsync');
const appDir = resolve(here, '../app/dist');
const shots = process.env.E2E_SCREENSHOTS ? resolve(here, '../../../docs/images') : null;
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: false, hasTouch: true };

let server;
const browsers = new Set();

const step = (what) => {
  if (process.env.E2E_STEPS) console.error(`[${new Date().toISOString()}] ${what}`);
};

async function launch(options = {}) {
  const b = await launchBrowser(null, { contextOptions: { ...phone, ...options } });
  browsers.add(b);
  return {
    context: b.context,
    async close() {
      browsers.delete(b);
      await b.close();
    },
  };
}

async function cleanUp() {
  for (const b of [...browsers]) await b.close().catch(() => {});
  browsers.clear();
  await server?.stop().catch(() => {});
  server?.remove();
  server = null;
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(1));
  });
}

async function until(what, check, timeoutMs = 30_000) {
  step(`waiting for ${what}`);
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await check();
    } catch (e) {
      last = String(e).split('\n')[0];
    }
    if (last === true) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const month = () => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-01`;
};

function repClaims(id) {
  return { sub: `rep-${id}`, rep_id: id, territories: [1], role: 'rep', region: 'DACH' };
}

function managerClaims() {
  return { sub: 'manager-1', rep_id: 1, territories: [1], reps: [1, 2, 3, 4, 5, 6], role: 'manager', region: 'DACH' };
}

async function openApp(context, token, path = '/') {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  if (process.env.E2E_CONSOLE) page.on('console', (m) => console.log('console:', m.text()));
  await page.goto(`${server.origin}${path}${token ? `#token=${encodeURIComponent(token)}` : ''}`);
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
  return page;
}

const status = (page) => page.evaluate(() => window.fieldsyncApp.client.status);

async function synced(page, timeoutMs = 60_000) {
  await page.evaluate((ms) => Promise.race([window.fieldsyncApp.client.synced(), new Promise((_, rej) => setTimeout(() => rej(new Error('synced() timed out')), ms))]), timeoutMs);
}

async function settled(page, what) {
  await until(`${what}: nothing pending`, async () => (await status(page)).pending === 0, 60_000);
  await synced(page);
}

const kpiText = (page, key) => page.locator(`[data-test="kpi-${key}"]`).first().innerText();

async function go(page, hash) {
  await page.evaluate((h) => (location.hash = h), hash);
}

async function shot(page, name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

// Logs a visit through the form: the account's page, "Log a visit", one product with
// samples, notes.
async function logVisit(page, accountId, notes, samples = 2) {
  await go(page, `#/accounts/${accountId}`);
  await page.locator('[data-test="log-visit"]').click();
  await page.locator('#prod-0').check();
  await page.locator('input.samples').first().fill(String(samples));
  await page.locator('#visit-notes').fill(notes);
  await page.locator('#visit-next').fill('Follow up next month');
  await page.getByRole('button', { name: 'Save visit' }).click();
  await page.waitForFunction((id) => location.hash === `#/accounts/${id}`, accountId);
}

before(async () => {
  server = await DevServer.create({ binary, appDir });
  await server.start();
  // The collections are served once the change log holds them.
  await until('the demo in the change log', () => server.sql(`SELECT count(*) FROM fieldsync.rows WHERE collection = 'insights'`) !== '0', 120_000);
});

after(cleanUp);

// Shared by the tests, in order.
let repA; // { browser, page } of rep 2
const A = 2;
const B = 3;

test('installability: the manifest and the service worker pass Chromium\u2019s checks', { timeout: 120_000 }, async () => {
  const browser = await launch();
  const page = await openApp(browser.context, server.token(repClaims(A)));
  repA = { browser, page };
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  const cdp = await browser.context.newCDPSession(page);
  const manifest = await cdp.send('Page.getAppManifest');
  assert.deepEqual(manifest.errors, [], 'the manifest parses without errors');
  assert.match(manifest.url, /\/manifest\.webmanifest$/);
  const parsed = JSON.parse(manifest.data);
  assert.equal(parsed.display, 'standalone');
  assert.ok(parsed.icons.some((i) => i.sizes === '512x512' && i.purpose === 'maskable'));
  await until('no installability errors', async () => {
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    return installabilityErrors.length === 0 || JSON.stringify(installabilityErrors);
  }, 30_000);
  // The shell is precached by the version's cache; API answers never are.
  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    const urls = [];
    for (const n of names) for (const r of await (await caches.open(n)).keys()) urls.push(new URL(r.url).pathname);
    return { names, urls };
  });
  assert.equal(cached.names.length, 1);
  assert.match(cached.names[0], /^fieldsync-app-[0-9a-f]{12}$/);
  assert.ok(cached.urls.includes('/index.html'));
  assert.ok(cached.urls.some((u) => /^\/assets\/app-[A-Z0-9]+\.js$/.test(u)));
  assert.ok(!cached.urls.some((u) => u.startsWith('/v1/')), 'no API answer is cached');
  await cdp.detach();
});

test('offline day: reload without the server, two visits and a deal edited offline, sent once when it is back', { timeout: 240_000 }, async () => {
  const { browser } = repA;
  let page = repA.page;
  await synced(page);
  const before = Number(server.sql(`SELECT calls_done FROM kpis WHERE rep_id = ${A} AND month = '${month()}'`) || 0);
  await until('the calls tile', async () => (await kpiText(page, 'calls')).startsWith(`${before} /`));
  await shot(page, 'dashboard');
  const [acc1, acc2] = server.sql(`SELECT id FROM accounts WHERE territory_id = 1 ORDER BY name LIMIT 2`).split('\n');
  const opp = server.sql(`SELECT id FROM opportunities WHERE territory_id = 1 AND stage = 'qualification' ORDER BY id LIMIT 1`);
  const tag = `offline-${Date.now()}`;

  step('stopping the server');
  await server.stop();
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 30_000 });
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), 'the shell came from the service worker');
  await until('the indicator says offline', async () => (await page.locator('.sync').getAttribute('data-mode')) === 'offline');

  await logVisit(page, acc1, `${tag} first visit`);
  await logVisit(page, acc2, `${tag} second visit`, 3);
  await go(page, `#/deals/${opp}`);
  await page.locator('button.step[data-stage="proposal"]').click();
  await page.locator('#m-champion').fill(`${tag} champion`);
  await shot(page, 'offline-edit');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForFunction(() => location.hash === '#/deals');
  await go(page, '#/');
  await until('the calls tile counts the offline visits', async () => (await kpiText(page, 'calls')).startsWith(`${before + 2} /`));
  const pending = (await status(page)).pending;
  assert.equal(pending, 5, 'two visits, two KPI increments and the deal wait to be sent');
  await shot(page, 'offline-dashboard');
  await page.close();

  step('starting the server again');
  await server.start();
  // The browser retries a failed Background Sync on its own schedule (minutes); the test
  // asks for the retry now through DevTools, as the browser would fire it.
  const blank = await browser.context.newPage();
  const cdp = await browser.context.newCDPSession(blank);
  const registrations = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
  await cdp.send('ServiceWorker.enable');
  await until('the service worker registration', () => registrations.some((r) => r.scopeURL.startsWith(server.origin)), 10_000);
  const reg = registrations.find((r) => r.scopeURL.startsWith(server.origin));
  await cdp.send('ServiceWorker.dispatchSyncEvent', { origin: server.origin, registrationId: reg.registrationId, tag: 'fieldsync-outbox', lastChance: false });
  await until('Background Sync sent the visits with no page open', () => server.sql(`SELECT count(*) FROM visits WHERE notes LIKE '${tag}%'`) === '2', 60_000);
  await cdp.detach();
  await blank.close();

  page = await openApp(browser.context, null);
  repA.page = page;
  await settled(page, 'rep A after the outage');
  assert.equal(server.sql(`SELECT count(*) FROM visits WHERE notes LIKE '${tag}%'`), '2', 'each visit exactly once');
  assert.equal(server.sql(`SELECT stage || '|' || champion FROM opportunities WHERE id = '${opp}'`), `proposal|${tag} champion`);
  assert.equal(Number(server.sql(`SELECT calls_done FROM kpis WHERE rep_id = ${A} AND month = '${month()}'`)), before + 2);
  assert.equal(server.sql(`SELECT sum(samples_given) FROM kpis WHERE rep_id = ${A} AND month = '${month()}'`) !== '', true);
  await until('the tile shows the server figure', async () => (await kpiText(page, 'calls')).startsWith(`${before + 2} /`));
});
