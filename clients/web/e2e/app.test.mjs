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
//   update           a new service worker waits, the page offers a reload, and only that
//                    reload switches to it
// Run: npm run e2e:app (FIELDSYNC_BINARY names the binary; default the release build).
// E2E_SCREENSHOTS=1 writes the screenshots of docs/web.md into docs/images/.
// Timings are printed (E2E_TIMINGS=1 prints each) but never asserted: bench/ measures.
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  await page.evaluate(
    (ms) =>
      Promise.race([
        window.fieldsyncApp.client.synced(),
        new Promise((_, rej) => setTimeout(() => rej(new Error(`synced() timed out: ${JSON.stringify(window.fieldsyncApp.client.status)}`)), ms)),
      ]),
    timeoutMs,
  );
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

// ---- consistency ------------------------------------------------------------------------

// A small deterministic generator (mulberry32), so a failing run can be replayed with its
// seed (E2E_SEED).
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Values as comparable text: the server's JSON forms (docs/protocol.md) and PostgreSQL's
// row_to_json differ in spelling only: timestamps ("Z" vs "+00:00", trailing zeros of
// the fraction), numerics (a decimal string vs a JSON number), jsonb (its text vs the
// document).
function norm(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, norm(v[k])]));
  const ts = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(?:Z|\+00:00)$/.exec(v);
  if (ts) return `${ts[1]}.${(ts[2] ?? '').padEnd(6, '0')}Z`;
  if (/^-?\d+\.\d+$/.test(v)) return v.replace(/0+$/, '').replace(/\.$/, '');
  if (/^[{[]/.test(v)) {
    try {
      return norm(JSON.parse(v));
    } catch {
      return v;
    }
  }
  return v;
}

function visitsWindowStart(now = new Date()) {
  return new Date(Date.UTC(now.getFullYear(), now.getMonth() - 3, 1)).toISOString().replace('.000Z', 'Z');
}

// What a rep's device should hold, straight from PostgreSQL: the scope (config) AND the
// app's filters (app/src/data.ts).
function scopeOf(rep) {
  return {
    kpis: `rep_id = ${rep}`,
    insights: `territory_id = 1 AND (rep_id IS NULL OR rep_id = ${rep})`,
    territories: 'id = 1',
    reps: 'territory_id = 1',
    opportunities: 'territory_id = 1',
    accounts: 'territory_id = 1',
    visits: `territory_id = 1 AND visited_at >= '${visitsWindowStart()}'`,
  };
}
const keyColumns = { kpis: ['rep_id', 'month'] };

function databaseRows(collection, where) {
  const rows = server.json(`SET TimeZone TO 'UTC'; SELECT coalesce(json_agg(t), '[]') FROM ${collection} t WHERE ${where}`) ?? [];
  const out = new Map();
  for (const r of rows) {
    const cols = keyColumns[collection] ?? ['id'];
    const key = cols.length === 1 ? String(r[cols[0]]) : JSON.stringify(cols.map((c) => r[c]));
    out.set(key, norm(r));
  }
  return out;
}

// The rows a device stored (IndexedDB, the current generation of each subscription), its
// cursors and filters.
async function storedState(page) {
  return page.evaluate(async () => {
    const name = `fieldsync:${window.fieldsyncApp.client === undefined ? '' : 'user-' + JSON.parse(atob(localStorage.getItem('fieldsync-app:token').split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).sub}`;
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open(name);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const req = (r) => new Promise((resolve, reject) => {
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const tx = db.transaction(['rows', 'subs'], 'readonly');
    const subs = await req(tx.objectStore('subs').getAll());
    const out = {};
    for (const s of subs) {
      const range = IDBKeyRange.bound([s.c, s.gen], [s.c, s.gen, []]);
      const keys = await req(tx.objectStore('rows').getAllKeys(range));
      const values = await req(tx.objectStore('rows').getAll(range));
      out[s.c] = { cursor: s.cursor, filter: s.filter, rows: keys.map((k, i) => [k[2], values[i].r]) };
    }
    db.close();
    return out;
  });
}

async function serverDigest(token, collection, cursor, filter) {
  const [where, params] = JSON.parse(filter);
  let q = `cursor=${encodeURIComponent(cursor)}`;
  if (where) q += `&where=${encodeURIComponent(where)}&params=${encodeURIComponent(JSON.stringify(params))}`;
  const res = await fetch(`${server.origin}/v1/collections/${collection}/digest?${q}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `digest of ${collection}`);
  return res.json();
}

// One random edit through the SDK, as the app's screens make them. Returns the counter
// increments it asked for ({calls, samples}) so the test can add them up.
async function randomEdit(page, rnd, pools, rep, n) {
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const r = rnd();
  const m = month();
  let op;
  if (r < 0.25) op = { kind: 'notes', id: pick(pools.visits), text: `notes ${rep}/${n} ${Math.floor(rnd() * 1e6)}` };
  else if (r < 0.4) op = { kind: 'next', id: pick(pools.visits), text: `next ${rep}/${n}` };
  else if (r < 0.55) op = { kind: 'visit', account: pick(pools.accounts), samples: Math.floor(rnd() * 4), id: crypto.randomUUID(), at: new Date(Date.now() - Math.floor(rnd() * 5) * 86_400_000).toISOString() };
  else if (r < 0.75) op = { kind: 'deal', id: pick(pools.deals), field: pick(['stage', 'amount', 'champion', 'competition']), value: rnd() };
  else if (r < 0.9) op = { kind: 'kpi', calls: 1 + Math.floor(rnd() * 3), samples: Math.floor(rnd() * 6) };
  else op = { kind: 'tag', account: pick(pools.accounts), tag: pick(['kol', 'digital', 'key account', 'speaker']) };
  return page.evaluate(
    async ({ op, rep, m }) => {
      const c = window.fieldsyncApp.client;
      const count = async (month, calls, samples) => {
        const kpis = c.collection('kpis');
        const cur = kpis.get({ rep_id: rep, month });
        if (cur) await kpis.update(cur, { calls_done: cur.calls_done + calls, samples_given: cur.samples_given + samples });
        else await kpis.insert({ rep_id: rep, month, calls_done: calls, samples_given: samples });
      };
      switch (op.kind) {
        case 'notes':
          if (c.collection('visits').get(op.id)) await c.collection('visits').update(op.id, { notes: op.text });
          return { calls: 0, samples: 0, month: m };
        case 'next':
          if (c.collection('visits').get(op.id)) await c.collection('visits').update(op.id, { next_steps: op.text });
          return { calls: 0, samples: 0, month: m };
        case 'visit': {
          const a = c.collection('accounts').get(op.account);
          await c.collection('visits').insert({
            id: op.id, account_id: op.account, rep_id: rep, territory_id: a.territory_id, visited_at: op.at, channel: 'phone',
            products_discussed: ['Ostevia 70 mg'], samples_left: op.samples ? { 'Ostevia 70 mg': op.samples } : {}, notes: 'random visit', next_steps: null,
          });
          const d = new Date(op.at);
          const month = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-01`;
          await count(month, 1, op.samples);
          return { calls: 1, samples: op.samples, month };
        }
        case 'deal': {
          const stages = ['prospecting', 'qualification', 'proposal', 'negotiation', 'closed_won', 'closed_lost'];
          const v = op.field === 'stage' ? stages[Math.floor(op.value * 6)] : op.field === 'amount' ? (Math.floor(op.value * 1e7) / 100).toFixed(2) : `${op.field} ${op.value.toFixed(6)}`;
          await c.collection('opportunities').update(op.id, { [op.field]: v });
          return { calls: 0, samples: 0, month: m };
        }
        case 'kpi':
          await count(m, op.calls, op.samples);
          return { calls: op.calls, samples: op.samples, month: m };
        case 'tag': {
          const a = c.collection('accounts').get(op.account);
          const tags = Array.isArray(a.tags) ? a.tags : [];
          if (!tags.includes(op.tag)) await c.collection('accounts').update(op.account, { tags: [...tags, op.tag] });
          return { calls: 0, samples: 0, month: m };
        }
        default:
          throw new Error(op.kind);
      }
    },
    { op, rep, m },
  );
}

test('consistency: 3 devices x 100 random edits with disconnects; every device equals the database for its scope', { timeout: 600_000 }, async () => {
  for (const b of [repA, repB, manager]) await b?.browser.close();
  const seed = Number(process.env.E2E_SEED ?? Date.now() % 1_000_000);
  console.log(`consistency: seed ${seed} (E2E_SEED=${seed} replays it)`);
  const C = 4;
  const D = 5;
  const devices = [];
  for (const [rep, label] of [[C, 'rep 4 phone'], [C, 'rep 4 tablet'], [D, 'rep 5 phone']]) {
    const browser = await launch();
    const token = server.token(repClaims(rep));
    devices.push({ rep, label, browser, token, page: await openApp(browser.context, token), rnd: random(seed + devices.length * 7919) });
  }
  await Promise.all(devices.map((d) => synced(d.page)));
  const m = month();
  const pools = {
    visits: server.sql(`SELECT id FROM visits WHERE territory_id = 1 AND visited_at >= '${visitsWindowStart()}' ORDER BY id LIMIT 12`).split('\n'),
    accounts: server.sql(`SELECT id FROM accounts WHERE territory_id = 1 ORDER BY id LIMIT 20`).split('\n'),
    deals: server.sql(`SELECT id FROM opportunities WHERE territory_id = 1 ORDER BY id LIMIT 10`).split('\n'),
  };
  const kpiBefore = server.json(`SELECT coalesce(json_object_agg(rep_id || '/' || month, json_build_array(calls_done, samples_given)), '{}') FROM kpis WHERE rep_id IN (${C}, ${D})`);
  const added = {}; // "rep/month" -> [calls, samples] the devices added
  const disconnects = { admin: 0, offline: 0, reload: 0 };

  await Promise.all(
    devices.map(async (d) => {
      for (let n = 1; n <= 100; n++) {
        const inc = await randomEdit(d.page, d.rnd, pools, d.rep, n);
        if (inc.calls || inc.samples) {
          const k = `${d.rep}/${inc.month}`;
          added[k] = [(added[k]?.[0] ?? 0) + inc.calls, (added[k]?.[1] ?? 0) + inc.samples];
        }
        const r = d.rnd();
        if (r < 0.05) {
          // An operator (or a flaky network) drops every socket of the rep.
          disconnects.admin++;
          await server.adminCall('DELETE', `/admin/v1/clients?subject=rep-${d.rep}`);
        } else if (r < 0.09) {
          // Offline for a while: no new connection can be made; edits go on.
          disconnects.offline++;
          await d.browser.context.setOffline(true);
          await server.adminCall('DELETE', `/admin/v1/clients?subject=rep-${d.rep}`);
          for (let k = 0; k < 3 && n < 100; k++) {
            n++;
            const more = await randomEdit(d.page, d.rnd, pools, d.rep, n);
            if (more.calls || more.samples) {
              const key = `${d.rep}/${more.month}`;
              added[key] = [(added[key]?.[0] ?? 0) + more.calls, (added[key]?.[1] ?? 0) + more.samples];
            }
          }
          await d.browser.context.setOffline(false);
          await d.page.evaluate(() => window.fieldsyncApp.client.reconnectNow());
        } else if (r < 0.11) {
          // The app is closed and opened again (edits are durable before they resolve).
          disconnects.reload++;
          await d.page.reload();
          await d.page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
        }
      }
    }),
  );
  console.log(`consistency: 300 edits, disconnects ${JSON.stringify(disconnects)}`);

  // Quiet: every edit answered and retired, the insights job has caught up, everyone live.
  for (const d of devices) await settled(d.page, d.label);
  for (const d of devices) await until(`${d.label}: no edit left in the outbox`, async () => (await d.page.evaluate(() => window.fieldsyncApp.client.pendingMutations().length)) === 0, 60_000);
  await new Promise((r) => setTimeout(r, 1500));
  for (const d of devices) await synced(d.page);

  // Counters: every increment of every device, exactly once.
  for (const [k, [calls, samples]] of Object.entries(added)) {
    const [rep, mon] = k.split('/');
    const row = server.sql(`SELECT calls_done || '/' || samples_given FROM kpis WHERE rep_id = ${rep} AND month = '${mon}'`);
    const [c0, s0] = kpiBefore[`${rep}/${mon}`] ?? [0, 0];
    assert.equal(row, `${c0 + calls}/${s0 + samples}`, `kpis of rep ${rep}, ${mon}: the increments of all its devices add up`);
  }

  let compared = 0;
  for (const d of devices) {
    const stored = await storedState(d.page);
    const scope = scopeOf(d.rep);
    for (const [collection, where] of Object.entries(scope)) {
      const mine = stored[collection];
      assert.ok(mine?.cursor, `${d.label}: ${collection} has a cursor`);
      const expected = databaseRows(collection, where);
      const got = new Map(mine.rows.map(([k, r]) => [k, norm(r)]));
      assert.equal(got.size, expected.size, `${d.label}: ${collection}: ${got.size} rows stored, ${expected.size} in the database`);
      for (const [k, row] of expected) {
        assert.deepEqual(got.get(k), row, `${d.label}: ${collection} row ${k}`);
        compared++;
      }
      // The state check's digest at the stored cursor, computed here from the stored rows.
      const digest = new RowDigest();
      for (const [k, r] of mine.rows) digest.addRow(k, r);
      const theirs = await serverDigest(d.token, collection, mine.cursor, mine.filter);
      assert.equal(theirs.rows, digest.rows, `${d.label}: ${collection} digest rows`);
      assert.equal(theirs.digest, digest.hex(), `${d.label}: ${collection} digest`);
    }
    const warnings = await d.page.evaluate(() => window.fieldsyncApp.client.status.lastError);
    assert.equal(warnings, null, `${d.label}: no sync error`);
  }
  console.log(`consistency: ${compared} rows compared on 3 devices: all equal`);
  for (const d of devices) await d.browser.close();
});

// ---- update ----------------------------------------------------------------------------

test('update: a new version waits until the user chooses to reload', { timeout: 120_000 }, async () => {
  const browser = await launch();
  const page = await openApp(browser.context, server.token(repClaims(6)));
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  await page.evaluate(() => (window.__sameDocument = true));
  // The next build's service worker: another version, so another cache. The browser
  // installs it on its next check (the app's own are on focus and every 30 minutes; this
  // one is asked for).
  const swPath = join(appDir, 'sw.js');
  const original = readFileSync(swPath, 'utf8');
  const { version } = JSON.parse(readFileSync(join(appDir, 'version.json'), 'utf8'));
  const next = [...version].reverse().join('');
  try {
    assert.ok(original.includes(`"${version}"`));
    writeFileSync(swPath, original.replaceAll(`"${version}"`, `"${next}"`));
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
    await page.locator('[data-test="update-ready"]').waitFor({ timeout: 30_000 });
    assert.ok(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).waiting !== null), 'the new version waits');
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not swapped under the user');
    await page.getByRole('button', { name: 'Reload' }).click();
    await page.waitForFunction(() => window.__sameDocument === undefined && document.body.dataset.state === 'ready', null, { timeout: 30_000 });
    const after = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration();
      return { waiting: reg.waiting !== null, controlled: navigator.serviceWorker.controller !== null, caches: await caches.keys() };
    });
    assert.deepEqual({ waiting: after.waiting, controlled: after.controlled }, { waiting: false, controlled: true });
    assert.deepEqual(after.caches, [`fieldsync-app-${next}`], 'the new version\u2019s cache only');
  } finally {
    writeFileSync(swPath, original);
    await browser.close();
  }
});

after(() => {
  if (timings.length) console.log(`timings: ${timings.map(([w, ms]) => `${w} ${ms} ms`).join('; ')}`);
});
