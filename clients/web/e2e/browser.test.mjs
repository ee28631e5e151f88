// The SDK in headless Chromium against the real fieldsync binary and a real PostgreSQL 15
// (both started and stopped here). Each test has its own territory (scope), subject and
// browser profile. Run with `npm run e2e` (FIELDSYNC_BINARY names the binary; default the
// release build), or through ctest ("e2e: web client in Chromium").
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launch as launchBrowser } from './support/browser.mjs';
import { startCluster } from './support/cluster.mjs';
import { Fieldsync } from './support/fieldsync.mjs';
import { signToken } from './support/jwt.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.FIELDSYNC_BINARY ?? resolve(here, '../../../build/release/server/fieldsync');
const secret = 'e2e-secret-0123456789abcdef0123456789abcdef';

let cluster;
let server;
let dir;
const browsers = new Set();

// Every browser a test opened is closed by the after hook too (a test that timed out
// never reaches its finally).
async function launch(origin) {
  const b = await launchBrowser(origin);
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
  cluster?.stop();
  cluster = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
}

// ctest's timeout (SIGTERM) or Ctrl-C: stop what this file started, by its handles.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(1));
  });
}

const sql = (text) => cluster.sql(text, 'e2e');

const step = (what) => {
  if (process.env.E2E_STEPS) console.error(`[${new Date().toISOString()}] ${what}`);
};

async function until(what, check, timeoutMs = 30_000) {
  step(`waiting for ${what}`);
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await check();
    } catch (e) {
      last = String(e).split('\n')[0]; // not there yet (a table being created, a page reloading)
    }
    if (last === true) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function token(subject, territories) {
  return signToken(secret, 'e2e', { sub: subject, territories });
}

async function openApp(context, tok) {
  step('opening a tab');
  const page = await context.newPage();
  page.on('console', (m) => { if (process.env.E2E_CONSOLE) console.log('console:', m.text()); });
  page.on('pageerror', (e) => console.error('page error:', e));
  await page.goto(`${server.origin}/e2e/app.html?token=${encodeURIComponent(tok)}${process.env.E2E_CONSOLE ? '&debug=1' : ''}`);
  await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready');
  step('the tab is ready');
  return page;
}

const view = (page) => page.evaluate(() => Object.fromEntries(window.fs.client.collection('accounts').find().map((r) => [r.id, r])));

function seed(territory, n) {
  sql(`INSERT INTO accounts (id, territory_id, name, amount, tags)
       SELECT 't${territory}-' || g, ${territory}, 'Account ' || g, g * 1.5, ARRAY['a', 'b']
       FROM generate_series(1, ${n}) g`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fieldsync-web-e2e-config-'));
  cluster = await startCluster();
  cluster.sql('CREATE DATABASE e2e');
  sql(`CREATE TABLE accounts (
         id text PRIMARY KEY,
         territory_id int NOT NULL,
         name text NOT NULL,
         amount numeric NOT NULL DEFAULT 0 CHECK (amount >= 0),
         notes text,
         tags text[] NOT NULL DEFAULT '{}',
         updated_at timestamptz NOT NULL DEFAULT now())`);
  server = await Fieldsync.create({
    binary,
    dsn: cluster.dsn.replace('dbname=postgres', 'dbname=e2e'),
    dir,
    sections: `[replication]
slot = "fs_web_e2e"
publication = "fs_web_e2e"
heartbeat_interval_ms = 500
reconnect_min_ms = 50
reconnect_max_ms = 500
leader_retry_ms = 200
[auth.keys.e2e]
alg = "HS256"
secret = "${secret}"
[collections.accounts]
table = "accounts"
primary_key = ["id"]
read_scope = "territory_id = ANY($claims.territories)"
write_scope = "territory_id = ANY($claims.territories)"
`,
  });
  await server.start();
  // The log is ready once a row written now reaches it.
  sql(`INSERT INTO accounts (id, territory_id, name) VALUES ('marker', 999, 'marker')`);
  await until('the change log', () => sql(`SELECT count(*) FROM fieldsync.rows WHERE key = 'marker'`) === '1', 60_000);
});

after(cleanUp);

test('a snapshot goes into IndexedDB, and a reload resumes from the stored cursor', { timeout: 120_000 }, async () => {
  seed(11, 500);
  sql(`INSERT INTO accounts (id, territory_id, name) VALUES ('other-1', 12, 'not mine')`);
  const browser = await launch(server.origin);
  try {
    let page = await openApp(browser.context, token('rep-snap', [11]));
    await page.evaluate(() => window.fs.client.synced());
    const stored = await page.evaluate(() => window.fs.storedRows('accounts'));
    assert.equal(stored.rows.length, 500);
    assert.ok(stored.sub.cursor, 'a cursor is stored with the rows');
    assert.ok(stored.rows.every((r) => r.r.territory_id === 11));
    const row = stored.rows.find((r) => r.key === 't11-3');
    assert.deepEqual([row.r.amount, row.r.tags], [4.5, ['a', 'b']], 'values as the server sent them');

    await page.reload();
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready');
    // Rows come from IndexedDB before any network answer.
    assert.equal(await page.evaluate(() => window.fs.client.collection('accounts').find().length), 500);
    await page.evaluate(() => window.fs.client.synced());
    const subscribe = await page.evaluate(() => window.fs.sent.filter((m) => m.type === 'subscribe'));
    assert.equal(subscribe.length, 1);
    assert.ok(subscribe[0].cursor, 'resumed with a cursor');
    const received = await page.evaluate(() => window.fs.received);
    assert.ok(!received.includes('snapshot'), `no snapshot after the reload (got ${received.join(',')})`);

    // Live: a commit in PostgreSQL reaches the page.
    sql(`UPDATE accounts SET name = 'Renamed in SQL' WHERE id = 't11-7'`);
    await until('the live change', async () => (await view(page))['t11-7']?.name === 'Renamed in SQL');
    page = null;
  } finally {
    await browser.close();
  }
});

test('edits made while the server is down survive a reload and are applied exactly once', { timeout: 120_000 }, async () => {
  seed(13, 20);
  const browser = await launch(server.origin);
  try {
    let page = await openApp(browser.context, token('rep-offline', [13]));
    await page.evaluate(() => window.fs.client.synced());
    const clientId = await page.evaluate(() => window.fs.client.clientId);

    await server.stop();
    await until('offline', async () => (await page.evaluate(() => window.fs.client.status.connection)) !== 'online');
    await page.evaluate(async () => {
      const a = window.fs.client.collection('accounts');
      await a.update('t13-1', { name: 'edited offline', notes: 'from the road' });
      await a.update('t13-2', { amount: 99 });
      await a.delete('t13-3');
      await a.insert({ id: 't13-new', territory_id: 13, name: 'created offline', amount: 1 });
    });
    assert.equal(await page.evaluate(() => window.fs.client.pendingMutations().length), 4);

    await page.reload();
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready');
    assert.equal(await page.evaluate(() => window.fs.client.pendingMutations().filter((m) => m.state === 'pending').length), 4);
    const offline = await view(page);
    assert.equal(offline['t13-1'].name, 'edited offline');
    assert.equal(offline['t13-2'].amount, 99);
    assert.equal(offline['t13-3'], undefined);
    assert.equal(offline['t13-new'].name, 'created offline');

    await server.start();
    await page.evaluate(() => window.fs.client.synced());
    assert.equal(sql(`SELECT name || '|' || notes FROM accounts WHERE id = 't13-1'`), 'edited offline|from the road');
    assert.equal(sql(`SELECT amount FROM accounts WHERE id = 't13-2'`), '99');
    assert.equal(sql(`SELECT count(*) FROM accounts WHERE id = 't13-3'`), '0');
    assert.equal(sql(`SELECT name FROM accounts WHERE id = 't13-new'`), 'created offline');
    // Exactly once: four mutation ids recorded, four row changes made by them.
    assert.equal(sql(`SELECT last_mutation_id FROM fieldsync.mutation_clients WHERE client_id = '${clientId}'`), '4');
    await until('the changes in the log', () => sql(`SELECT count(*) FROM fieldsync.changes WHERE client_id = '${clientId}'`) === '4');
    await until('outbox empty', async () => (await page.evaluate(() => window.fs.client.pendingMutations().length)) === 0);
    const synced = await view(page);
    assert.equal(synced['t13-1'].name, 'edited offline');
    assert.equal(synced['t13-3'], undefined);
    page = null;
  } finally {
    if (!server.child) await server.start();
    await browser.close();
  }
});

test('a rejected edit rolls back to the server row and raises the conflict event', { timeout: 120_000 }, async () => {
  seed(14, 5);
  const browser = await launch(server.origin);
  try {
    const page = await openApp(browser.context, token('rep-reject', [14]));
    await page.evaluate(() => window.fs.client.synced());
    const outcome = await page.evaluate(async () => {
      const a = window.fs.client.collection('accounts');
      const before = a.get('t14-2').amount;
      const m = await a.update('t14-2', { amount: -5 }); // CHECK (amount >= 0)
      const optimistic = a.get('t14-2').amount;
      const result = await m.result;
      return { before, optimistic, result, after: a.get('t14-2').amount };
    });
    assert.equal(outcome.optimistic, -5);
    assert.equal(outcome.result.status, 'rejected');
    assert.equal(outcome.result.conflict.code, 'constraint_violation');
    // numeric 3.0 travels as the text "3.0" (a double would print it as 3)
    assert.equal(outcome.before, '3.0');
    assert.equal(outcome.after, outcome.before, 'rolled back to the server row');
    const events = await page.evaluate(() => window.fs.events.conflicts);
    assert.equal(events.length, 1);
    assert.deepEqual([events[0].key, events[0].rejected], ['t14-2', { amount: -5 }]);
    assert.equal(await page.evaluate(() => window.fs.client.conflicts().length), 1);
    assert.equal(sql(`SELECT amount FROM accounts WHERE id = 't14-2'`), '3.0');
    // The queue goes on after a rejection.
    await page.evaluate(async () => {
      const m = await window.fs.client.collection('accounts').update('t14-3', { amount: 7 });
      await m.result;
    });
    assert.equal(sql(`SELECT amount FROM accounts WHERE id = 't14-3'`), '7');
  } finally {
    await browser.close();
  }
});

test('two tabs share one WebSocket; a follower writes through the shared outbox; the leader hands over', { timeout: 120_000 }, async () => {
  seed(15, 10);
  const browser = await launch(server.origin);
  const subject = 'rep-tabs';
  const sessions = async () => (await server.adminGet(`/admin/v1/clients?subject=${subject}`)).clients.filter((c) => !c.closing);
  try {
    const tok = token(subject, [15]);
    const first = await openApp(browser.context, tok);
    step('synced() in the first tab');
    await first.evaluate(() => window.fs.client.synced());
    const second = await openApp(browser.context, tok);
    await until('the second tab follows', async () => (await second.evaluate(() => window.fs.client.collection('accounts').find().length)) === 10);
    assert.deepEqual(await Promise.all([first, second].map((p) => p.evaluate(() => window.fs.client.status.role))), ['leader', 'follower']);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await sessions()).length, 1, 'one WebSocket for both tabs');

    // The follower's edit goes through the shared outbox and the leader's socket.
    await second.evaluate(async () => {
      const m = await window.fs.client.collection('accounts').update('t15-4', { name: 'from tab 2' });
      await m.result;
    });
    assert.equal(sql(`SELECT name FROM accounts WHERE id = 't15-4'`), 'from tab 2');
    await until('the leader tab shows it', async () => (await view(first))['t15-4']?.name === 'from tab 2');

    // The leader's tab closes: the follower takes over within a second or so.
    const closedAt = Date.now();
    await first.close();
    await until('the new leader', async () => (await second.evaluate(() => window.fs.client.status.role)) === 'leader', 5000);
    await until('its own socket', async () => (await sessions()).length === 1 && (await second.evaluate(() => window.fs.client.status.connection)) === 'online', 10_000);
    const handover = Date.now() - closedAt;
    assert.ok(handover < 5000, `hand-over took ${handover} ms`);
    sql(`UPDATE accounts SET name = 'after hand-over' WHERE id = 't15-5'`);
    await until('live in the new leader', async () => (await view(second))['t15-5']?.name === 'after hand-over');
    assert.equal((await sessions()).length, 1);
  } finally {
    await browser.close();
  }
});

test('rows changed behind the SDK back in IndexedDB are found by the state check after the next catch-up and re-synced', { timeout: 120_000 }, async () => {
  seed(16, 30);
  const browser = await launch(server.origin);
  const subject = 'rep-digest';
  try {
    const page = await openApp(browser.context, token(subject, [16]));
    await page.evaluate(() => window.fs.client.synced());
    await new Promise((r) => setTimeout(r, 500)); // the first check (which matches) is done
    assert.deepEqual(await page.evaluate(() => window.fs.events.warnings.map((w) => w.code)), []);
    await page.evaluate(() => window.fs.tamper('accounts', 't16-5', 't16-6'));
    const tampered = await page.evaluate(() => window.fs.storedRows('accounts'));
    assert.equal(tampered.rows.length, 29);

    // A catch-up: the server drops the session, the client resumes from its cursor.
    sql(`UPDATE accounts SET name = 'moved on' WHERE id = 't16-9'`);
    await server.adminDelete(`/admin/v1/clients?subject=${subject}`);
    await until('the mismatch', async () => (await page.evaluate(() => window.fs.events.warnings.map((w) => w.code))).includes('digest_mismatch'));
    await until('the re-sync', async () => {
      const s = await page.evaluate(() => window.fs.storedRows('accounts'));
      const five = s.rows.find((r) => r.key === 't16-5');
      const nine = s.rows.find((r) => r.key === 't16-9');
      return s.rows.length === 30 && five?.r.name === 'Account 5' && s.rows.find((r) => r.key === 't16-6') !== undefined && nine?.r.name === 'moved on';
    });
    const after = await page.evaluate(() => window.fs.storedRows('accounts'));
    assert.equal(after.rows.find((r) => r.key === 't16-9').r.name, 'moved on');
    assert.ok(after.sub.cursor);
    const sent = await page.evaluate(() => window.fs.sent.map((m) => m.type));
    assert.ok(sent.includes('unsubscribe'), 'the collection was re-subscribed without a cursor');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(
      (await page.evaluate(() => window.fs.events.warnings.map((w) => w.code))).filter((c) => c === 'digest_mismatch').length,
      1,
      'after the re-sync the digests match',
    );
  } finally {
    await browser.close();
  }
});
