// The driver of bench/scenarios/app (which starts fieldsync dev serving the built PWA):
// the field-sales app in headless Chromium, as a rep and a manager use it. Prints one JSON
// result line per measurement on stdout. Two phases, because the second needs the server
// gone:
//   online  first sync of a rep's scope (a fresh profile), from the page's navigation
//           start to the dashboard interactive (its collections, kpis and insights, live
//           and the KPI tile showing the database's figure) and to the whole scope synced
//           (synced()), BENCH_APP_RUNS times; then commit -> DOM on 3 open pages (two reps and
//           their manager): an UPDATE of both reps' KPIs committed in PostgreSQL to the
//           mutation of each page's DOM that shows it, over BENCH_APP_UPDATES updates.
//           Leaves one synced profile (the installed app) in BENCH_APP_PROFILE.
//   cold    with the server stopped: the installed app started in a new browser process,
//           navigation start to the dashboard painted with the figures it synced,
//           BENCH_APP_RUNS times.
// Both clocks are the host's: PostgreSQL's clock_timestamp() and the page's Date.now().
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { launch } from '../e2e/support/browser.mjs';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`app_bench: ${name} is not set`);
  return v;
};
const phase = process.argv[2];
const origin = env('FIELDSYNC_ORIGIN');
const profile = env('BENCH_APP_PROFILE');
const runs = Number(process.env.BENCH_APP_RUNS ?? 5);
const log = (...a) => console.error('app:', ...a);
const result = (o) => console.log(JSON.stringify({ scenario: 'app', ...o }));
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true };
const desktop = { viewport: { width: 1280, height: 860 } };

function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

function sql(text) {
  return execFileSync(env('PSQL'), ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', env('BENCH_DSN'), '-c', text], { encoding: 'utf8' }).trim();
}

// Runs in the page: resolves with performance.now() (ms since the navigation started) at
// the first frame after `selector`'s text, digits and slashes only, equals `want` while
// the collections named in `live` are live (the figure is then the server's, not a
// partial snapshot's).
function pageReadyAt({ selector, want, live }) {
  const digits = (el) => (el?.textContent ?? '').replace(/[^\d/]/g, '');
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 60_000;
    const poll = () => {
      if (Date.now() > deadline) return reject(new Error(`${selector} never showed ${want}: ${digits(document.querySelector(selector))}`));
      const status = window.fieldsyncApp?.client.status;
      const isLive = live.every((c) => status?.collections[c]?.phase === 'live');
      if (isLive && digits(document.querySelector(selector)) === want) return requestAnimationFrame(() => resolve(performance.now()));
      requestAnimationFrame(poll);
    };
    poll();
  });
}

// Runs in the page: performance.now() when the client's synced() resolves (every
// collection of the scope stored, live, and confirmed by a delta pull).
async function syncedAt() {
  while (!window.fieldsyncApp) await new Promise((r) => requestAnimationFrame(r));
  await window.fieldsyncApp.client.synced();
  return performance.now();
}

function repFigure(rep) {
  const [done, planned] = sql(`SELECT calls_done, calls_planned FROM kpis WHERE rep_id = ${rep} AND month = date_trunc('month', current_date)::date`).split('|');
  return `${done}/${planned}`;
}

async function openApp(token, contextOptions, profileDir = null) {
  const b = await launch(null, { contextOptions, profile: profileDir });
  const page = b.context.pages()[0] ?? (await b.context.newPage());
  page.on('pageerror', (e) => log('page error', e));
  await page.goto(`${origin}/${token ? `#token=${encodeURIComponent(token)}` : ''}`);
  return { b, page };
}

async function firstSync() {
  const token = env('REP_TOKEN');
  const want = repFigure(env('REP_A'));
  const dashboard = [];
  const scope = [];
  for (let i = 0; i < runs; i++) {
    // The last run's profile is kept: the installed app of the cold starts.
    const { b, page } = await openApp(token, phone, i === runs - 1 ? profile : null);
    try {
      const [ready, synced] = await Promise.all([
        page.evaluate(pageReadyAt, { selector: '[data-test="kpi-calls"]', want, live: ['kpis', 'insights'] }),
        page.evaluate(syncedAt),
      ]);
      dashboard.push(ready);
      scope.push(synced);
      if (i === runs - 1) {
        await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
        writeFileSync(`${profile}.want`, want);
      }
    } finally {
      await b.close();
    }
  }
  const rows = Number(sql(`SELECT (SELECT count(*) FROM accounts WHERE territory_id = ${env('TERRITORY')}) + (SELECT count(*) FROM opportunities WHERE territory_id = ${env('TERRITORY')}) + (SELECT count(*) FROM visits WHERE territory_id = ${env('TERRITORY')} AND visited_at >= date_trunc('month', current_date) - interval '3 months')`));
  const ms = (a) => a.map((t) => t.toFixed(0)).join(', ');
  log(`first sync (${rows} rows): dashboard interactive ${ms(dashboard)} ms; whole scope synced ${ms(scope)} ms`);
  result({ metric: 'first sync: dashboard interactive p50', unit: 'ms', value: percentile(dashboard, 50), target: 'value<=1000', runs, rows });
  result({ metric: 'first sync: whole rep scope synced p50', unit: 'ms', value: percentile(scope, 50), target: 'value<=3000', runs, rows });
  result({ metric: 'first sync: whole rep scope synced max', unit: 'ms', value: Math.max(...scope), runs, rows });
}

async function commitToDom() {
  const updates = Number(process.env.BENCH_APP_UPDATES ?? 100);
  const [a, b] = [env('REP_A'), env('REP_B')];
  const pages = [
    { ...(await openApp(env('REP_TOKEN'), phone)), selector: '[data-test="kpi-calls"]', rep: a },
    { ...(await openApp(env('REP_B_TOKEN'), phone)), selector: '[data-test="kpi-calls"]', rep: b },
    { ...(await openApp(env('MANAGER_TOKEN'), desktop)), selector: `[data-rep-id="${a}"] [data-test="calls"]`, rep: a },
  ];
  try {
    for (const p of pages) {
      await p.page.waitForFunction(() => window.fieldsyncApp !== undefined, null, { timeout: 60_000 });
      await p.page.evaluate(() => window.fieldsyncApp.client.synced());
      // One observer per page for the whole run: it stamps the DOM mutation that shows the
      // figure the current round waits for.
      await p.page.evaluate((selector) => {
        window.__bench = { want: null, at: null };
        const check = () => {
          const w = window.__bench;
          const text = (document.querySelector(selector)?.textContent ?? '').replace(/[^\d/]/g, '');
          if (w.want !== null && w.at === null && text.endsWith(`/${w.want}`)) w.at = Date.now();
        };
        new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true });
      }, p.selector);
    }
    const m = "date_trunc('month', current_date)::date";
    const lat = [];
    let missed = 0;
    for (let i = 1; i <= updates; i++) {
      const planned = Object.fromEntries(sql(`SELECT rep_id, calls_planned + 1 FROM kpis WHERE rep_id IN (${a}, ${b}) AND month = ${m}`).split('\n').map((l) => l.split('|')));
      for (const p of pages) await p.page.evaluate((want) => (window.__bench = { want, at: null }), planned[p.rep]);
      const committed = Number(
        sql(`WITH u AS (UPDATE kpis SET calls_planned = calls_planned + 1, updated_at = clock_timestamp()
                        WHERE rep_id IN (${a}, ${b}) AND month = ${m} RETURNING updated_at)
             SELECT round(extract(epoch FROM max(updated_at)) * 1000) FROM u`),
      );
      for (const p of pages) {
        const deadline = Date.now() + 10_000;
        let at = null;
        while (at === null && Date.now() < deadline) {
          at = await p.page.evaluate(() => window.__bench.at);
          if (at === null) await new Promise((r) => setTimeout(r, 10));
        }
        if (at === null) missed++;
        else lat.push(at - committed);
      }
    }
    log(`commit -> DOM: ${lat.length} observations on 3 pages, ${missed} missed`);
    const extra = { updates, pages: 3, seen: lat.length, missed };
    result({ metric: 'commit -> DOM on 3 pages p50', unit: 'ms', value: percentile(lat, 50), ...extra });
    result({ metric: 'commit -> DOM on 3 pages p99', unit: 'ms', value: percentile(lat, 99), target: 'value<=100', ...extra });
  } finally {
    for (const p of pages) await p.b.close();
  }
}

async function coldStart() {
  const want = readFileSync(`${profile}.want`, 'utf8');
  const times = [];
  for (let i = 0; i < runs; i++) {
    const { b, page } = await openApp(null, phone, profile);
    try {
      // Offline nothing gets live: the figures are the ones stored.
      times.push(await page.evaluate(pageReadyAt, { selector: '[data-test="kpi-calls"]', want, live: [] }));
      const fromWorker = await page.evaluate(() => navigator.serviceWorker.controller !== null);
      if (!fromWorker) throw new Error('the page was not served by the service worker');
    } finally {
      await b.close();
    }
  }
  log(`cold start offline to the dashboard: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
  result({ metric: 'cold start offline to first dashboard paint p50', unit: 'ms', value: percentile(times, 50), target: 'value<=1000', runs });
  result({ metric: 'cold start offline to first dashboard paint max', unit: 'ms', value: Math.max(...times), runs });
}

if (phase === 'online') {
  await firstSync();
  await commitToDom();
} else if (phase === 'cold') {
  await coldStart();
} else {
  throw new Error('usage: app_bench.mjs online|cold');
}
