// The sync engine against a fake server (FakeSocket, a fake fetch) on fake-indexeddb:
// snapshots and cursors across simulated crashes, rollback on rejection, duplicates and
// gaps, the state check's re-sync, a vanished database.
import 'fake-indexeddb/auto';
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createClient, type ClientOptions, type FieldsyncClient } from '../sdk/client.js';
import { RowDigest } from '../sdk/digest.js';
import type { Conflict, Warning } from '../sdk/types.js';
import { FakeSocket, until } from './fake_socket.js';

const noTabs = { post() {}, onMessage() {}, close() {} };
let n = 0;

type FetchHandler = (url: URL, init?: RequestInit) => { status: number; body: unknown } | undefined;

function fakeFetch(handler: FetchHandler = () => undefined): { fetch: typeof fetch; calls: URL[] } {
  const calls: URL[] = [];
  const f = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    calls.push(url);
    const answer = handler(url, init) ??
      (url.pathname === '/v1/collections'
        ? { status: 200, body: { collections: [{ name: 'accounts', primary_key: ['id'], columns: [] }] } }
        : { status: 503, body: { error: { code: 'unavailable', message: 'test' } } });
    return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'Content-Type': 'application/json' } });
  };
  return { fetch: f as typeof fetch, calls };
}

function options(name: string, extra: Partial<ClientOptions> = {}): ClientOptions {
  return {
    url: 'http://fieldsync.test',
    name,
    getToken: () => 'token',
    collections: { accounts: {} },
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    fetch: fakeFetch().fetch,
    markerStorage: null,
    tabChannel: noTabs,
    stateCheck: false,
    snapshotFlushRows: 2,
    reconnectBaseMs: 5,
    reconnectCapMs: 20,
    ackGraceMs: 60_000,
    ...extra,
  };
}

// Opens the client's socket and answers hello; returns the socket and its subscribe.
async function connect(): Promise<{ sock: FakeSocket; sub: Record<string, unknown> }> {
  await until('a socket', () => FakeSocket.all.length > 0 && FakeSocket.last().readyState === 0);
  const sock = FakeSocket.last();
  sock.open();
  assert.equal(sock.sent[0]?.type, 'hello');
  sock.receive({ type: 'welcome', protocol: 1, session: 1, subject: 'rep-7' });
  await until('subscribe', () => sock.sentOfType('subscribe').length > 0);
  return { sock, sub: sock.sentOfType('subscribe')[0] as Record<string, unknown> };
}

const row = (i: number) => ({ key: `a${i}`, version: `0/${(16 + i).toString(16)}`, row: { id: `a${i}`, name: `Account ${i}` } });

async function closed(c: FieldsyncClient): Promise<void> {
  await c.close();
  await new Promise((r) => setTimeout(r, 10));
}

test('a snapshot cut between pages leaves no cursor; a complete one and its changes resume from the cursor', async () => {
  FakeSocket.reset();
  const name = `crash-${++n}`;
  let client = await createClient(options(name));
  let { sock, sub } = await connect();
  assert.equal(sub.cursor, undefined);
  sock.receive({ type: 'snapshot', id: sub.id, rows: [row(1), row(2)], last: false });
  sock.receive({ type: 'snapshot', id: sub.id, rows: [row(3), row(4)], last: false });
  sock.receive({ type: 'snapshot', id: sub.id, rows: [row(5)], last: false });
  await new Promise((r) => setTimeout(r, 50)); // the first pages are written to IndexedDB
  await closed(client); // the tab dies between pages

  client = await createClient(options(name));
  assert.equal(client.collection('accounts').find().length, 0, 'no half snapshot is shown');
  ({ sock, sub } = await connect());
  assert.equal(sub.cursor, undefined, 'no cursor: the snapshot starts again');
  sock.receive({ type: 'snapshot', id: sub.id, rows: [row(1), row(2), row(3)], last: false });
  sock.receive({ type: 'snapshot', id: sub.id, rows: [row(4)], last: true, cursor: '1-0000000000000100' });
  sock.receive({ type: 'up-to-date', id: sub.id, cursor: '1-0000000000000100' });
  await until('live', () => client.status.collections.accounts?.phase === 'live');
  assert.equal(client.collection('accounts').find().length, 4, 'row 5 of the interrupted snapshot is not there');
  sock.receive({
    type: 'batch',
    messages: [
      { type: 'change', id: sub.id, op: 'update', collection: 'accounts', key: 'a1', row: { id: 'a1', name: 'Renamed' }, version: '0/200', cursor: '1-0000000000000200' },
      { type: 'change', id: sub.id, op: 'delete', collection: 'accounts', key: 'a2', row: { id: 'a2' }, version: '0/210', cursor: '1-0000000000000210' },
      { type: 'change', id: sub.id, op: 'insert', collection: 'accounts', key: 'a9', row: { id: 'a9', name: 'New' }, version: '0/220', cursor: '1-0000000000000220' },
    ],
  });
  await until('changes applied', () => client.collection('accounts').get('a9') !== undefined);
  await new Promise((r) => setTimeout(r, 30));
  await closed(client);

  client = await createClient(options(name));
  const rows = client.collection('accounts').find(undefined, 'id');
  assert.deepEqual(rows.map((r) => `${r.id}:${r.name}`), ['a1:Renamed', 'a3:Account 3', 'a4:Account 4', 'a9:New']);
  ({ sock, sub } = await connect());
  assert.equal(sub.cursor, '1-0000000000000220', 'resumes from the cursor stored with the last rows');
  await closed(client);
});

test('HTTP snapshot pages resume from the token stored with the last page written', async () => {
  FakeSocket.reset();
  const name = `http-${++n}`;
  const pages: Record<string, unknown> = {
    '': { snapshot: true, changes: [1, 2].map((i) => ({ op: 'upsert', ...row(i) })), cursor: 'S1-page1', has_more: true },
    'S1-page1': { snapshot: true, changes: [3, 4].map((i) => ({ op: 'upsert', ...row(i) })), cursor: 'S1-page2', has_more: true },
    'S1-page2': { snapshot: true, changes: [5].map((i) => ({ op: 'upsert', ...row(i) })), cursor: '1-0000000000000300', has_more: false },
  };
  let cut = true;
  const seen: string[] = [];
  const handler: FetchHandler = (url) => {
    if (!url.pathname.endsWith('/changes')) return undefined;
    const cursor = url.searchParams.get('cursor') ?? '';
    seen.push(cursor);
    if (cursor === 'S1-page2' && cut) return { status: 503, body: { error: { code: 'database_unavailable', message: 'x' } } };
    if (cursor.startsWith('1-')) return { status: 200, body: { snapshot: false, changes: [], cursor, has_more: false } };
    return { status: 200, body: pages[cursor] };
  };
  let client = await createClient(options(name, { transport: 'http', fetch: fakeFetch(handler).fetch, WebSocket: null }));
  await until('two pages', () => seen.filter((c) => c === 'S1-page2').length >= 1);
  await new Promise((r) => setTimeout(r, 30));
  await closed(client); // the tab dies after two pages
  cut = false;
  seen.length = 0;
  client = await createClient(options(name, { transport: 'http', fetch: fakeFetch(handler).fetch, WebSocket: null }));
  await until('live', () => client.status.collections.accounts?.phase === 'live');
  assert.equal(seen[0], 'S1-page2', 'the snapshot resumed at the page after the last one stored');
  assert.deepEqual(client.collection('accounts').find(undefined, 'id').map((r) => r.id), ['a1', 'a2', 'a3', 'a4', 'a5']);
  await closed(client);
});

test('a rejected edit rolls back to the server row and raises a conflict; a duplicate retry is acknowledged', async () => {
  FakeSocket.reset();
  const name = `reject-${++n}`;
  const client = await createClient(options(name));
  const conflicts: Conflict[] = [];
  client.on('conflict', (c) => conflicts.push(c));
  let { sock, sub } = await connect();
  sock.receive({ type: 'snapshot', id: sub.id, rows: [row(1), row(2)], last: true, cursor: '1-0000000000000100' });
  sock.receive({ type: 'up-to-date', id: sub.id, cursor: '1-0000000000000100' });
  await until('rows', () => client.collection('accounts').find().length === 2);
  const accounts = client.collection('accounts');
  const live = accounts.query({ name: { prefix: 'mine' } });
  const updates: number[] = [];
  live.subscribe((rows) => updates.push(rows.length));

  const m1 = await accounts.update('a1', { name: 'Mine 1' });
  const m2 = await accounts.update('a2', { name: 'Mine 2' });
  assert.deepEqual([m1.mutationId, m2.mutationId], [1, 2]);
  assert.equal(accounts.get('a1')?.name, 'Mine 1', 'optimistic');
  await until('live query saw both', () => live.rows.length === 2);
  await until('push', () => sock.sentOfType('push').length > 0);
  const push = sock.sentOfType('push')[0] as { id: number; mutations: { mutation_id: number; base: unknown; base_version: unknown; client_ts: string }[] };
  assert.equal(push.mutations[0]?.mutation_id, 1); // pushed at once; 2 waits for its answer
  assert.deepEqual(push.mutations[0]?.base, { name: 'Account 1' });
  assert.equal(push.mutations[0]?.base_version, '0/11');
  assert.match(push.mutations[0]?.client_ts ?? '', new RegExp(`-0000-${client.clientId}$|-[0-9A-F]{4}-${client.clientId}$`));

  // The answer is lost with the connection; the retry is answered "duplicate".
  sock.drop(1006);
  ({ sock, sub } = await connect());
  sock.receive({ type: 'up-to-date', id: sub.id, cursor: '1-0000000000000100' });
  await until('push again', () => sock.sentOfType('push').length > 0);
  const again = sock.sentOfType('push')[0] as { id: number; mutations: { mutation_id: number }[] };
  assert.deepEqual(again.mutations.map((m) => m.mutation_id), [1, 2], 'the same ids: exactly once on the server');
  sock.receive({
    type: 'push_result', id: again.id, client_id: client.clientId, last_mutation_id: 2,
    results: [
      { mutation_id: 1, status: 'duplicate', original: { mutation_id: 1, status: 'applied', version: '0/300' } },
      { mutation_id: 2, status: 'duplicate', original: { mutation_id: 2, status: 'rejected', code: 'conflict', message: 'someone else changed the name', row: { id: 'a2', name: 'Theirs' }, version: '0/290', fields: ['name'] } },
    ],
  });
  const [o1, o2] = await Promise.all([m1.result, m2.result]);
  assert.equal(o1.status, 'applied');
  assert.equal(o2.status, 'rejected');
  assert.equal(accounts.get('a2')?.name, 'Account 2', 'rolled back to the server row');
  assert.equal(accounts.get('a1')?.name, 'Mine 1', 'the applied edit stays shown until its change arrives');
  assert.equal(conflicts.length, 1);
  assert.deepEqual(
    { code: conflicts[0]?.code, key: conflicts[0]?.key, rejected: conflicts[0]?.rejected, serverRow: conflicts[0]?.serverRow },
    { code: 'conflict', key: 'a2', rejected: { name: 'Mine 2' }, serverRow: { id: 'a2', name: 'Theirs' } },
  );
  assert.equal(client.conflicts().length, 1);
  await until('live query after rollback', () => live.rows.length === 1);
  // The change the edit made arrives (with its origin): the entry retires, the row stays.
  sock.receive({ type: 'change', id: sub.id, op: 'update', collection: 'accounts', key: 'a1', row: { id: 'a1', name: 'Mine 1' }, version: '0/300', cursor: '1-0000000000000300', origin: { client_id: client.clientId, mutation_id: 1 } });
  await until('retired', () => client.pendingMutations().length === 0);
  assert.equal(accounts.get('a1')?.name, 'Mine 1');
  await client.dismissConflict(conflicts[0]?.id ?? 0);
  assert.equal(client.conflicts().length, 0);
  assert.ok(updates.length >= 2);
  await closed(client);
});

test('a mutation_gap is resent from the expected id', async () => {
  FakeSocket.reset();
  const name = `gap-${++n}`;
  const client = await createClient(options(name));
  const { sock, sub } = await connect();
  sock.receive({ type: 'snapshot', id: sub.id, rows: [row(1)], last: true, cursor: '1-0000000000000100' });
  await until('row', () => client.collection('accounts').get('a1') !== undefined);
  await client.collection('accounts').update('a1', { name: 'x' });
  await client.collection('accounts').insert({ id: 'a7', name: 'y' });
  await until('push', () => sock.sentOfType('push').length === 1);
  const first = sock.sentOfType('push')[0] as { id: number };
  // Pretend the server expects id 1 ... of another life of this client id: here it
  // expected 1 already, so use a server that lost nothing but says the batch starts late.
  sock.receive({ type: 'error', id: first.id, code: 'mutation_gap', message: 'gap', expected_mutation_id: 1 });
  await until('second push', () => sock.sentOfType('push').length === 2);
  const second = sock.sentOfType('push')[1] as { mutations: { mutation_id: number }[] };
  assert.deepEqual(second.mutations.map((m) => m.mutation_id), [1, 2]);
  await closed(client);
});

test('a digest that differs from the server re-syncs the collection from a fresh snapshot', async () => {
  FakeSocket.reset();
  const name = `digest-${++n}`;
  const serverRows = [row(1), row(2), row(3)];
  const server = new RowDigest();
  for (const r of serverRows) server.addRow(r.key, r.row);
  const warnings: Warning[] = [];
  const handler: FetchHandler = (url) =>
    url.pathname.endsWith('/digest') ? { status: 200, body: { cursor: url.searchParams.get('cursor'), rows: server.rows, digest: server.hex() } } : undefined;
  const client = await createClient(options(name, { stateCheck: true, fetch: fakeFetch(handler).fetch }));
  client.on('warning', (w) => warnings.push(w));
  const { sock, sub } = await connect();
  // The snapshot as delivered misses row 3 (as if the stored copy had lost it).
  sock.receive({ type: 'snapshot', id: sub.id, rows: serverRows.slice(0, 2), last: true, cursor: '1-0000000000000100' });
  sock.receive({ type: 'up-to-date', id: sub.id, cursor: '1-0000000000000100' });
  await until('unsubscribe', () => sock.sentOfType('unsubscribe').length === 1);
  assert.equal(warnings[0]?.code, 'digest_mismatch');
  sock.receive({ type: 'unsubscribed', id: sub.id });
  await until('fresh subscribe', () => sock.sentOfType('subscribe').length === 2);
  const fresh = sock.sentOfType('subscribe')[1] as Record<string, unknown>;
  assert.equal(fresh.cursor, undefined, 'a re-sync starts without a cursor');
  sock.receive({ type: 'snapshot', id: fresh.id, rows: serverRows, last: true, cursor: '1-0000000000000100' });
  sock.receive({ type: 'up-to-date', id: fresh.id, cursor: '1-0000000000000100' });
  await until('three rows', () => client.collection('accounts').find().length === 3);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(sock.sentOfType('unsubscribe').length, 1, 'the digest now matches: no second re-sync');
  await closed(client);
});

test('a database that vanished since the last start warns, and says how many edits were lost', async () => {
  FakeSocket.reset();
  const name = `vanish-${++n}`;
  const store = new Map<string, string>();
  const markerStorage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v), removeItem: (k: string) => void store.delete(k) };
  let client = await createClient(options(name, { markerStorage }));
  const { sock, sub } = await connect();
  sock.receive({ type: 'snapshot', id: sub.id, rows: [row(1)], last: true, cursor: '1-0000000000000100' });
  await until('row', () => client.collection('accounts').get('a1') !== undefined);
  await client.collection('accounts').update('a1', { name: 'unsent' });
  await closed(client);
  await new Promise<void>((resolve, reject) => {
    const req = indexedDB.deleteDatabase(`fieldsync:${name}`);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
  });
  const warnings: Warning[] = [];
  // Listeners attached after createClient miss the start's warnings: the API emits them
  // during open, so capture through a wrapper that subscribes first.
  const origEmit = (await import('../sdk/emitter.js')).Emitter.prototype.emit;
  (await import('../sdk/emitter.js')).Emitter.prototype.emit = function (this: unknown, event: never, value: never) {
    if (event === 'warning') warnings.push(value as Warning);
    return origEmit.call(this as never, event, value);
  } as typeof origEmit;
  try {
    client = await createClient(options(name, { markerStorage }));
  } finally {
    (await import('../sdk/emitter.js')).Emitter.prototype.emit = origEmit;
  }
  assert.deepEqual(warnings.map((w) => w.code), ['database_vanished', 'unsent_edits_lost']);
  assert.match(warnings[1]?.message ?? '', /^1 edit/);
  assert.equal(client.collection('accounts').find().length, 0);
  await closed(client);
});

test('synced() called right after createClient waits for the leadership, then for the catch-up', async () => {
  FakeSocket.reset();
  const name = `synced-${++n}`;
  const handler: FetchHandler = (url) =>
    url.pathname.endsWith('/changes') ? { status: 200, body: { snapshot: false, changes: [], cursor: url.searchParams.get('cursor'), has_more: false } } : undefined;
  const client = await createClient(options(name, { fetch: fakeFetch(handler).fetch }));
  let done = false;
  const synced = client.synced().then(() => (done = true));
  const { sock, sub } = await connect();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(done, false, 'not before the snapshot');
  sock.receive({ type: 'snapshot', id: sub.id, rows: [row(1)], last: true, cursor: '1-0000000000000100' });
  sock.receive({ type: 'up-to-date', id: sub.id, cursor: '1-0000000000000100' });
  await synced;
  assert.equal(client.collection('accounts').find().length, 1);
  await closed(client);
});

test('synced() follows empty pages that have more (changes outside the filter) to the end of the log', async () => {
  FakeSocket.reset();
  const name = `synced-empty-${++n}`;
  // From the client's cursor the log holds only other scopes' changes: two empty pages
  // with more, then the end. A change found on the way means not yet synced.
  let found = true;
  const pages: Record<string, { changes: unknown[]; cursor: string; has_more: boolean }> = {
    '1-0000000000000100': { changes: [], cursor: '1-0000000000000180-0', has_more: true },
    '1-0000000000000180-0': { changes: [], cursor: '1-0000000000000200-3', has_more: true },
    '1-0000000000000200-3': { changes: [], cursor: '1-0000000000000300', has_more: false },
  };
  const asked: string[] = [];
  const handler: FetchHandler = (url) => {
    if (!url.pathname.endsWith('/changes')) return undefined;
    const cursor = url.searchParams.get('cursor') ?? '';
    asked.push(cursor);
    const page = pages[cursor];
    if (cursor === '1-0000000000000180-0' && found) return { status: 200, body: { snapshot: false, changes: [{ op: 'upsert', ...row(2) }], cursor: '1-0000000000000200-3', has_more: true } };
    return { status: 200, body: { snapshot: false, ...(page ?? { changes: [], cursor, has_more: false }) } };
  };
  const client = await createClient(options(name, { fetch: fakeFetch(handler).fetch }));
  let done = false;
  const synced = client.synced().then(() => (done = true));
  const { sock, sub } = await connect();
  sock.receive({ type: 'snapshot', id: sub.id, rows: [row(1)], last: true, cursor: '1-0000000000000100' });
  sock.receive({ type: 'up-to-date', id: sub.id, cursor: '1-0000000000000100' });
  await until('a change found after an empty page', () => asked.filter((c) => c === '1-0000000000000180-0').length > 0);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(done, false, 'a change on the second page is still to come');
  found = false;
  await synced;
  assert.ok(asked.includes('1-0000000000000200-3'), 'the pages were followed to the end');
  await closed(client);
});

test('when no WebSocket can be opened but the server answers HTTP, the client long-polls', async () => {
  FakeSocket.reset();
  const name = `fallback-${++n}`;
  const pulls: string[] = [];
  const handler: FetchHandler = (url) => {
    if (url.pathname === '/healthz') return { status: 200, body: { status: 'ok' } };
    if (!url.pathname.endsWith('/changes')) return undefined;
    const cursor = url.searchParams.get('cursor') ?? '';
    pulls.push(`${cursor}|${url.searchParams.get('live') ?? ''}`);
    if (cursor === '') return { status: 200, body: { snapshot: true, changes: [{ op: 'upsert', ...row(1) }], cursor: '1-0000000000000100', has_more: false } };
    return { status: 200, body: { snapshot: false, changes: [], cursor, has_more: false } };
  };
  const client = await createClient(options(name, { fetch: fakeFetch(handler).fetch }));
  for (let i = 0; i < 2; i++) {
    await until('a socket attempt', () => FakeSocket.all.length > i);
    FakeSocket.all[i]?.drop(1006); // refused before it opened (a proxy without upgrades)
  }
  await until('http', () => client.status.connection === 'http');
  await until('live over HTTP', () => client.status.collections.accounts?.phase === 'live');
  assert.equal(client.collection('accounts').get('a1')?.name, 'Account 1');
  await until('a long-poll', () => pulls.some((p) => p.endsWith('|true')));
  await closed(client);
});
