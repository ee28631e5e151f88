// The driver of bench/scenarios/web (which starts fieldsync dev, nginx and the data): the
// SDK in headless Chromium. Prints one JSON result line per measurement on stdout.
//   initial sync of a rep's scope, from an empty IndexedDB to synced(), vs the same rows
//     as one JSON file from nginx written to IndexedDB in one transaction
//   initial sync of a 100k-row collection, vs the same
//   local query with a prefix filter over the 100k rows: p50, p99
//   commit in PostgreSQL -> reactive query callback in the page: p50, p99 over N updates
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../e2e/support/browser.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`web_bench: ${name} is not set`);
  return v;
};
const origin = env('FIELDSYNC_ORIGIN');
const nginx = env('NGINX_ORIGIN');
const repToken = env('REP_TOKEN');
const allToken = env('ALL_TOKEN');
const dsn = env('BENCH_DSN');
const oppId = env('OPP_ID');
const updates = Number(process.env.BENCH_WEB_UPDATES ?? 200);
const log = (...a) => console.error('web:', ...a);
const result = (o) => console.log(JSON.stringify({ scenario: 'web', ...o }));

function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

async function syncPage(token) {
  const b = await launch(origin, { mount: '/bench/', dir: `${here}/pages` });
  const page = await b.context.newPage();
  page.on('pageerror', (e) => log('page error', e));
  await page.goto(`${origin}/bench/sync.html?token=${encodeURIComponent(token)}`);
  await page.waitForFunction(() => document.title === 'ready');
  return { b, page };
}

async function bulk(path) {
  const b = await launch(null);
  try {
    const page = await b.context.newPage();
    await page.goto(`${nginx}/${path}/bulk.html`);
    await page.waitForFunction(() => document.title === 'ready');
    return await page.evaluate(() => window.bulk());
  } finally {
    await b.close();
  }
}

const repCollections = { accounts: {}, visits: {}, opportunities: {}, kpis: {} };

// 1. A rep's scope, and the commit -> callback latency on the same page.
{
  const { b, page } = await syncPage(repToken);
  try {
    const r = await page.evaluate((c) => window.bench.initialSync(c), repCollections);
    const rows = Object.values(r.rows).reduce((a, n) => a + n, 0);
    log(`rep scope: ${rows} rows ${JSON.stringify(r.rows)} in ${r.seconds.toFixed(3)} s`);
    const limit = await bulk('rep');
    log(`rep scope limit: ${limit.rows} rows in ${limit.seconds.toFixed(3)} s`);
    result({ metric: 'initial sync, rep scope', unit: 's', value: r.seconds, limit_name: 'nginx JSON + one IndexedDB transaction', limit: limit.seconds, target: 'value<=1', rows });

    await page.evaluate(({ key }) => window.bench.watch('opportunities', key), { key: oppId });
    log(`${updates} updates of one opportunity, 50 ms apart`);
    execFileSync(process.env.PSQL ?? 'psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', dsn, '-c',
      `DO $$ BEGIN FOR i IN 1..${updates} LOOP
         UPDATE opportunities SET name = 'bench-' || i, updated_at = clock_timestamp() WHERE id = '${oppId}';
         COMMIT; PERFORM pg_sleep(0.05); END LOOP; END $$`]);
    const deadline = Date.now() + 30_000;
    let lat = [];
    while (Date.now() < deadline) {
      lat = await page.evaluate(() => window.bench.latencies);
      if (lat.length >= updates) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    log(`callbacks: ${lat.length} of ${updates}`);
    result({ metric: 'commit -> query callback p50', unit: 'ms', value: percentile(lat, 50), seen: lat.length, updates });
    result({ metric: 'commit -> query callback p99', unit: 'ms', value: percentile(lat, 99), seen: lat.length, updates });
  } finally {
    await b.close();
  }
}

// 2. A 100k-row collection, then search as you type over it.
{
  const { b, page } = await syncPage(allToken);
  try {
    const r = await page.evaluate(() => window.bench.initialSync({ accounts: {} }));
    log(`100k collection: ${r.rows.accounts} rows in ${r.seconds.toFixed(3)} s`);
    const limit = await bulk('all');
    log(`100k limit: ${limit.rows} rows in ${limit.seconds.toFixed(3)} s`);
    result({ metric: 'initial sync, 100k-row collection', unit: 's', value: r.seconds, limit_name: 'nginx JSON + one IndexedDB transaction', limit: limit.seconds, target: 'value<=5', rows: r.rows.accounts });

    const q = await page.evaluate(() => window.bench.queryTimes('accounts', 'name', 300));
    log(`queries over ${q.rows} rows: ${q.matched} rows matched in total`);
    result({ metric: 'local prefix query over 100k rows p50', unit: 'ms', value: percentile(q.times, 50), rows: q.rows });
    result({ metric: 'local prefix query over 100k rows p99', unit: 'ms', value: percentile(q.times, 99), target: 'value<=16', rows: q.rows });
  } finally {
    await b.close();
  }
}
