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

// Records, in the page, when `selector`'s text first satisfies `expected` (a regular
// expression source): a MutationObserver, so the time is the DOM change's, not a poll's.
async function watchText(page, name, selector, expected) {
  await page.evaluate(
    ({ name, selector, expected }) => {
      window.__seen ??= {};
      const re = new RegExp(expected);
      const check = () => {
        if (window.__seen[name]) return;
        const el = document.querySelector(selector);
        if (el && re.test(el.textContent ?? '')) window.__seen[name] = Date.now();
      };
      new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true });
      check();
    },
    { name, selector, expected },
  );
}

async function watchGone(page, name, selector) {
  await page.evaluate(
    ({ name, selector }) => {
      window.__seen ??= {};
      const check = () => {
        if (!window.__seen[name] && !document.querySelector(selector)) window.__seen[name] = Date.now();
      };
      new MutationObserver(check).observe(document.body, { subtree: true, childList: true });
      check();
    },
    { name, selector },
  );
}

async function seenAt(page, name, timeoutMs = 30_000) {
  let at = null;
  await until(`${name} on screen`, async () => {
    at = await page.evaluate((n) => window.__seen?.[n] ?? null, name);
    return at !== null;
  }, timeoutMs);
  return at;
}

const timings = [];
function timing(what, ms) {
  timings.push([what, ms]);
  if (process.env.E2E_TIMINGS) console.error(`timing: ${what}: ${ms} ms`);
}

let repB; // { browser, page } of rep 3
let manager; // { browser, page }

test('real time: an SQL update of KPIs reaches a manager and two reps; a visit clears its insight on the manager\u2019s screen', { timeout: 180_000 }, async () => {
  {
    const browser = await launch();
    repB = { browser, page: await openApp(browser.context, server.token(repClaims(B))) };
  }
  {
    const browser = await launch({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1, hasTouch: false });
    manager = { browser, page: await openApp(browser.context, server.token(managerClaims())) };
  }
  await Promise.all([synced(repA.page), synced(repB.page), synced(manager.page)]);
  for (const p of [repA.page, repB.page]) await go(p, '#/');

  const m = month();
  const planned = (rep) => Number(server.sql(`SELECT calls_planned FROM kpis WHERE rep_id = ${rep} AND month = '${m}'`));
  const newA = planned(A) + 7;
  const newB = planned(B) + 7;
  await watchText(repA.page, 'kpiA', '[data-test="kpi-calls"]', `/ ${newA}$`);
  await watchText(repB.page, 'kpiB', '[data-test="kpi-calls"]', `/ ${newB}$`);
  await watchText(manager.page, 'kpiA', `[data-rep-id="${A}"] [data-test="calls"]`, `/ ${newA}$`);
  await watchText(manager.page, 'kpiB', `[data-rep-id="${B}"] [data-test="calls"]`, `/ ${newB}$`);
  const committed = Number(
    server.sql(`WITH u AS (UPDATE kpis SET calls_planned = calls_planned + 7, updated_at = clock_timestamp()
                           WHERE rep_id IN (${A}, ${B}) AND month = '${m}' RETURNING updated_at)
                SELECT round(extract(epoch FROM max(updated_at)) * 1000) FROM u`),
  );
  timing('commit -> DOM, rep A', (await seenAt(repA.page, 'kpiA')) - committed);
  timing('commit -> DOM, rep B', (await seenAt(repB.page, 'kpiB')) - committed);
  timing('commit -> DOM, manager (rep A row)', (await seenAt(manager.page, 'kpiA')) - committed);
  timing('commit -> DOM, manager (rep B row)', (await seenAt(manager.page, 'kpiB')) - committed);
  const total = Number(server.sql(`SELECT sum(calls_planned) FROM kpis k JOIN reps r ON r.id = k.rep_id WHERE r.role = 'rep' AND month = '${m}'`));
  await until('the manager\u2019s total', async () => (await kpiText(manager.page, 'team-calls')).endsWith(`/ ${total}`));
  await shot(manager.page, 'manager');

  // An account whose "not visited" insight the manager sees; rep B visits it.
  const id = await manager.page.locator('[data-kind="not_visited"]').first().getAttribute('data-insight-id');
  assert.ok(id, 'the manager sees a "not visited" insight');
  const account = id.slice('not_visited:'.length);
  await watchGone(manager.page, 'insight', `[data-insight-id="${id}"]`);
  const before = Date.now();
  await logVisit(repB.page, account, 'Met the head of department at last');
  const gone = await seenAt(manager.page, 'insight', 30_000);
  timing('visit saved -> insight gone on the manager\u2019s screen', gone - before);
  assert.equal(server.sql(`SELECT count(*) FROM insights WHERE id = '${id}'`), '0');
  await until('the insight gone on the rep\u2019s account page too', async () => (await repB.page.locator(`[data-insight-id="${id}"]`).count()) === 0);
  await settled(repB.page, 'rep B');
});

test('conflict: two reps change one visit\u2019s notes offline; one is applied, the other is in the inbox with both texts; counters add up', { timeout: 240_000 }, async () => {
  const m = month();
  const visit = server.sql(`SELECT id FROM visits WHERE territory_id = 1 AND visited_at >= date_trunc('month', now()) - interval '1 month'
                            AND notes IS NOT NULL ORDER BY id LIMIT 1`);
  const account = server.sql(`SELECT account_id FROM visits WHERE id = '${visit}'`);
  const calls = (rep) => Number(server.sql(`SELECT calls_done FROM kpis WHERE rep_id = ${rep} AND month = '${m}'`));
  const [a0, b0] = [calls(A), calls(B)];
  await Promise.all([settled(repA.page, 'rep A'), settled(repB.page, 'rep B')]);

  step('stopping the server');
  await server.stop();
  const texts = { [A]: 'Rep A: she prefers the weekly dosing', [B]: 'Rep B: asked for the outcome study' };
  for (const [rep, p] of [[A, repA.page], [B, repB.page]]) {
    await until(`rep ${rep} offline`, async () => (await p.locator('.sync').getAttribute('data-mode')) === 'offline');
    await go(p, `#/visits/${visit}`);
    await p.locator('#edit-notes').fill(texts[rep]);
    await p.getByRole('button', { name: 'Save changes' }).click();
    await p.waitForFunction((a) => location.hash === `#/accounts/${a}`, account);
    await logVisit(p, account, `Second call by rep ${rep}`, 1);
  }
  // Rep B stays offline a little longer, so the order of the two pushes is known.
  await repB.browser.context.setOffline(true);
  step('starting the server again');
  await server.start();
  // The ETL job counts calls from elsewhere meanwhile: counters, so everything adds up.
  server.sql(`UPDATE kpis SET calls_done = calls_done + 5, updated_at = now() WHERE rep_id IN (${A}, ${B}) AND month = '${m}'`);
  await settled(repA.page, 'rep A');
  await repB.browser.context.setOffline(false);
  await repB.page.evaluate(() => window.fieldsyncApp.client.reconnectNow());
  await settled(repB.page, 'rep B');

  const notes = server.sql(`SELECT notes FROM visits WHERE id = '${visit}'`);
  assert.ok(notes === texts[A] || notes === texts[B], `one of the two edits was applied (${notes})`);
  const [winner, loser] = notes === texts[A] ? [A, B] : [B, A];
  const loserPage = loser === A ? repA.page : repB.page;
  assert.equal((await status(loserPage)).conflicts, 1);
  assert.equal((await status(loser === A ? repB.page : repA.page)).conflicts, 0);
  await go(loserPage, '#/inbox');
  const card = loserPage.locator('.conflict').first();
  await card.waitFor();
  assert.equal(await card.locator('[data-field="notes"] [data-test="mine"]').innerText(), texts[loser]);
  assert.equal(await card.locator('[data-field="notes"] [data-test="theirs"]').innerText(), texts[winner]);
  await shot(loserPage, 'conflicts');

  assert.equal(calls(A), a0 + 1 + 5, 'rep A: own visit and the ETL job add up');
  assert.equal(calls(B), b0 + 1 + 5, 'rep B: own visit and the ETL job add up');
  const total = Number(server.sql(`SELECT sum(calls_done) FROM kpis k JOIN reps r ON r.id = k.rep_id WHERE r.role = 'rep' AND month = '${m}'`));
  await until('the manager\u2019s total adds both reps up', async () => (await kpiText(manager.page, 'team-calls')).startsWith(`${total} /`));
  for (const [rep, p] of [[A, repA.page], [B, repB.page]]) {
    await go(p, '#/');
    await until(`rep ${rep}'s tile`, async () => (await kpiText(p, 'calls')).startsWith(`${calls(rep)} /`));
  }

  // "Re-apply mine": the loser's text becomes the visit's, and the inbox empties.
  await go(loserPage, '#/inbox');
  await loserPage.locator('.conflict [data-action="reapply"]').first().click();
  await until('the re-applied text in PostgreSQL', () => server.sql(`SELECT notes FROM visits WHERE id = '${visit}'`) === texts[loser]);
  await until('the inbox empty', async () => (await status(loserPage)).conflicts === 0);
  const winnerPage = winner === A ? repA.page : repB.page;
  await go(winnerPage, `#/accounts/${account}`);
  await until('the winner sees the re-applied text', async () => (await winnerPage.locator(`[data-visit-id="${visit}"] [data-test="visit-notes"]`).innerText()) === texts[loser]);
});
