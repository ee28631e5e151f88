// flushOutbox() (a service worker's Background Sync): pending edits sent once over HTTP,
// answers applied to the outbox as the push loop does, a gap renumbered, a network failure
// left for the browser's retry, nothing done while a tab leads.
import 'fake-indexeddb/auto';
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { openDatabase, stores } from '../sdk/db.js';
import { flushOutbox } from '../sdk/flush.js';
import { request, transact } from '../sdk/idb.js';
import { enqueue, ensureClientMeta, loadOutbox, newClientMeta, type NewEntry } from '../sdk/outbox.js';
import type { Conflict } from '../sdk/types.js';

let counter = 0;

async function clientWithEdits(n: number): Promise<string> {
  const name = `flush-${++counter}`;
  const db = await openDatabase(indexedDB, name);
  await ensureClientMeta(db, newClientMeta('client-f', 0));
  for (let i = 1; i <= n; i++) {
    const e: NewEntry = {
      collection: 'visits',
      op: 'update',
      key: `v${i}`,
      keyValues: { id: `v${i}` },
      set: { notes: `note ${i}` },
      base: { notes: null },
      baseVersion: '0/10',
      createdAt: i,
    };
    await enqueue(db, e, 1000 + i);
  }
  db.close();
  return name;
}

async function outboxOf(name: string) {
  const db = await openDatabase(indexedDB, name);
  try {
    const outbox = await loadOutbox(db);
    const conflicts = await transact(db, stores.conflicts, 'readonly', (tx) =>
      request(tx.objectStore(stores.conflicts).getAll() as IDBRequest<Conflict[]>),
    );
    return { outbox, conflicts };
  } finally {
    db.close();
  }
}

type Handler = (body: { client_id: string; mutations: { mutation_id: number }[] }) => { status: number; body: unknown };

function fakeFetch(handler: Handler) {
  const calls: { client_id: string; mutations: { mutation_id: number }[] }[] = [];
  const impl = (async (_url: string, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as { client_id: string; mutations: { mutation_id: number }[] };
    calls.push(body);
    const a = handler(body);
    return new Response(JSON.stringify(a.body), { status: a.status, headers: { 'Content-Type': 'application/json' } });
  }) as unknown as typeof fetch;
  return { impl, calls };
}

const base = { url: 'http://sync.test', getToken: () => 'token', locks: null } as const;

test('pending edits are pushed once; applied ones are acknowledged, refused ones become conflicts', async () => {
  const name = await clientWithEdits(3);
  const f = fakeFetch((b) => ({
    status: 200,
    body: {
      client_id: b.client_id,
      last_mutation_id: 3,
      results: b.mutations.map((m) =>
        m.mutation_id === 2
          ? { mutation_id: 2, status: 'rejected', code: 'conflict', message: 'notes changed meanwhile', row: { id: 'v2', notes: 'theirs' }, fields: ['notes'] }
          : { mutation_id: m.mutation_id, status: 'applied', version: '0/20' },
      ),
    },
  }));
  const r = await flushOutbox({ ...base, name, fetch: f.impl });
  assert.deepEqual(f.calls.map((c) => c.mutations.map((m) => m.mutation_id)), [[1, 2, 3]]);
  assert.equal(f.calls[0]?.client_id, 'client-f');
  assert.equal(r.sent, 3);
  assert.equal(r.applied, 2);
  assert.equal(r.rejected, 1);
  assert.equal(r.remaining, 0);
  const { outbox, conflicts } = await outboxOf(name);
  assert.deepEqual(outbox.map((e) => [e.mutationId, e.state]), [[1, 'acked'], [3, 'acked']]);
  assert.equal(conflicts.length, 1);
  assert.equal(conflicts[0]?.key, 'v2');
  assert.deepEqual(conflicts[0]?.rejected, { notes: 'note 2' });
  assert.deepEqual(conflicts[0]?.serverRow, { id: 'v2', notes: 'theirs' });
  // A second flush has nothing left to send.
  const again = await flushOutbox({ ...base, name, fetch: f.impl });
  assert.equal(again.skipped, 'empty');
  assert.equal(f.calls.length, 1);
});

test('a mutation gap renumbers the pending edits and sends them again', async () => {
  const name = await clientWithEdits(2);
  let first = true;
  const f = fakeFetch((b) => {
    if (first) {
      first = false;
      return { status: 409, body: { error: { code: 'mutation_gap', message: 'expected 7', expected_mutation_id: 7 } } };
    }
    return {
      status: 200,
      body: { client_id: b.client_id, last_mutation_id: 8, results: b.mutations.map((m) => ({ mutation_id: m.mutation_id, status: 'applied', version: '0/30' })) },
    };
  });
  const r = await flushOutbox({ ...base, name, fetch: f.impl });
  assert.deepEqual(f.calls.map((c) => c.mutations.map((m) => m.mutation_id)), [[1, 2], [7, 8]]);
  assert.equal(r.applied, 2);
});

test('a network failure rejects (the browser retries the sync) and keeps every edit pending', async () => {
  const name = await clientWithEdits(2);
  const failing = (async () => {
    throw new TypeError('Failed to fetch');
  }) as unknown as typeof fetch;
  await assert.rejects(flushOutbox({ ...base, name, fetch: failing }), /Failed to fetch/);
  const { outbox } = await outboxOf(name);
  assert.deepEqual(outbox.map((e) => e.state), ['pending', 'pending']);
});

test('503 rejects too; a refusal no retry can fix stops without rejecting', async () => {
  const name = await clientWithEdits(1);
  const busy = fakeFetch(() => ({ status: 503, body: { error: { code: 'row_locked', message: 'locked' } } }));
  await assert.rejects(flushOutbox({ ...base, name, fetch: busy.impl }));
  const mine = fakeFetch(() => ({ status: 403, body: { error: { code: 'client_not_yours', message: 'another subject' } } }));
  const r = await flushOutbox({ ...base, name, fetch: mine.impl });
  assert.equal(r.stopped?.code, 'client_not_yours');
  assert.equal((await outboxOf(name)).outbox[0]?.state, 'pending');
});

test('nothing is sent while a tab holds the leader lock', async () => {
  const name = await clientWithEdits(1);
  const f = fakeFetch(() => ({ status: 500, body: null }));
  const held = {
    request: async (_n: string, _o: LockOptions, cb: (lock: Lock | null) => Promise<unknown>) => cb(null),
  } as unknown as LockManager;
  const r = await flushOutbox({ ...base, name, fetch: f.impl, locks: held });
  assert.equal(r.skipped, 'leader');
  assert.equal(f.calls.length, 0);
});

test('with waitForLeaderMs it waits for the lock and flushes once a closing tab lets go', async () => {
  const name = await clientWithEdits(1);
  const f = fakeFetch((b) => ({
    status: 200,
    body: { client_id: b.client_id, last_mutation_id: 1, results: [{ mutation_id: 1, status: 'applied', version: '0/40' }] },
  }));
  let release: () => void = () => {};
  const freed = new Promise<void>((r) => (release = r));
  const waiting = {
    request: async (_n: string, o: LockOptions, cb: (lock: Lock | null) => Promise<unknown>) => {
      assert.equal(o.ifAvailable, undefined);
      await freed; // the tab closes
      return cb({ name: _n, mode: 'exclusive' } as Lock);
    },
  } as unknown as LockManager;
  const pending = flushOutbox({ ...base, name, fetch: f.impl, locks: waiting, waitForLeaderMs: 5000 });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(f.calls.length, 0, 'nothing is sent while the tab holds the lock');
  release();
  const r = await pending;
  assert.equal(r.applied, 1);
});

test('a client without a database has nothing to flush', async () => {
  const f = fakeFetch(() => ({ status: 500, body: null }));
  const r = await flushOutbox({ ...base, name: 'never-created', fetch: f.impl });
  assert.equal(r.skipped, 'empty');
  assert.equal(f.calls.length, 0);
});
