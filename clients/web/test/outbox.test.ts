// The durable outbox on IndexedDB (fake-indexeddb): atomicity, consecutive ids across
// concurrent writers, renumbering after a gap, dropping a never-recorded entry.
import 'fake-indexeddb/auto';
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { openDatabase } from '../sdk/db.js';
import {
  dropUnrecorded,
  enqueue,
  ensureClientMeta,
  loadOutbox,
  newClientMeta,
  readClientMeta,
  renumberFrom,
  applyOutboxUpdate,
  type NewEntry,
} from '../sdk/outbox.js';
import { parseHlc, compareHlc } from '../sdk/hlc.js';

let dbCounter = 0;
async function freshDb(): Promise<{ name: string; db: IDBDatabase }> {
  const name = `outbox-${++dbCounter}-${Date.now()}`;
  const db = await openDatabase(indexedDB, name);
  await ensureClientMeta(db, newClientMeta('client-1', 0));
  return { name, db };
}

function edit(i: number, extra: Partial<NewEntry> = {}): NewEntry {
  return {
    collection: 'visits',
    op: 'update',
    key: `k${i}`,
    keyValues: { id: `k${i}` },
    set: { notes: `n${i}` },
    base: { notes: null },
    baseVersion: '0/10',
    createdAt: i,
    ...extra,
  };
}

test('an entry and the next mutation id commit together, or neither does', async () => {
  const { db } = await freshDb();
  const e = await enqueue(db, edit(1), 1000);
  assert.equal(e.mutationId, 1);
  assert.equal((await readClientMeta(db))?.nextMutationId, 2);
  // A value IndexedDB cannot store makes the add fail: the transaction aborts as a whole.
  const bad = edit(2, { set: { notes: (() => 1) as unknown as string } });
  await assert.rejects(enqueue(db, bad, 1001));
  assert.equal((await readClientMeta(db))?.nextMutationId, 2, 'the id was not consumed');
  assert.equal((await loadOutbox(db)).length, 1, 'no half-written entry');
  const next = await enqueue(db, edit(3), 1002);
  assert.equal(next.mutationId, 2, 'ids stay consecutive after the failure');
  db.close();
});

test('ids are consecutive and unique across two tabs writing at once, and clocks only grow', async () => {
  const { name, db } = await freshDb();
  const other = await openDatabase(indexedDB, name); // a second tab's connection
  const writes = [];
  for (let i = 0; i < 40; i++) writes.push(enqueue(i % 2 ? other : db, edit(i), 5000 - i)); // wall clock going backwards
  const entries = await Promise.all(writes);
  const ids = entries.map((e) => e.mutationId).sort((a, b) => a - b);
  assert.deepEqual(ids, Array.from({ length: 40 }, (_, i) => i + 1));
  const stored = (await loadOutbox(db)).sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < stored.length; i++) {
    assert.ok((stored[i]?.mutationId ?? 0) > (stored[i - 1]?.mutationId ?? 0), 'local order follows the ids');
    const a = parseHlc(stored[i - 1]?.clientTs ?? '');
    const b = parseHlc(stored[i]?.clientTs ?? '');
    assert.ok(a && b && compareHlc(a, b) < 0, 'client_ts strictly increasing');
    assert.equal(b?.node, 'client-1');
  }
  db.close();
  other.close();
});

test('a mutation_gap renumbers the pending entries from the expected id; acknowledged ones keep theirs', async () => {
  const { db } = await freshDb();
  for (let i = 0; i < 7; i++) await enqueue(db, edit(i), 1000 + i);
  const all = (await loadOutbox(db)).sort((a, b) => a.seq - b.seq);
  // 1 and 2 were answered: 1 is retired, 2 is acknowledged and still shown; 3..7 pending.
  await applyOutboxUpdate(db, {
    acks: [{ seq: all[1]!.seq, ack: { status: 'applied' as const, version: '0/1', row: null, at: 0 } }],
    retire: [all[0]!.seq],
    conflicts: [],
  });
  // The server's bookkeeping came back from an older backup and expects 3 ... no gap:
  // renumbering from the first pending id changes nothing.
  await renumberFrom(db, 3);
  assert.deepEqual((await loadOutbox(db)).map((e) => e.mutationId), [2, 3, 4, 5, 6, 7]);
  // ... it expects 2 (it lost 2 too): the pending entries become 2..6 after the
  // acknowledged 2 (whose effect the server lost; its change never arrives and the grace
  // time retires it), and the next id continues at 7.
  await renumberFrom(db, 2);
  const after = (await loadOutbox(db)).sort((a, b) => a.seq - b.seq);
  assert.deepEqual(after.map((e) => [e.state, e.mutationId]), [
    ['acked', 2],
    ['pending', 2],
    ['pending', 3],
    ['pending', 4],
    ['pending', 5],
    ['pending', 6],
  ]);
  assert.equal((await readClientMeta(db))?.nextMutationId, 7);
  assert.equal((await enqueue(db, edit(9), 2000)).mutationId, 7);
  db.close();
});

test('dropping a never-recorded entry moves the later ones down, so no gap is left', async () => {
  const { db } = await freshDb();
  for (let i = 0; i < 4; i++) await enqueue(db, edit(i), 1000 + i);
  const all = (await loadOutbox(db)).sort((a, b) => a.seq - b.seq);
  const second = all[1];
  assert.ok(second);
  const conflict = await dropUnrecorded(db, second.seq, {
    collection: 'visits', key: second.key, op: 'update', mutationId: 2, code: 'bad_request', message: 'x',
    rejected: second.set, serverRow: null, serverVersion: null, fields: [], at: 0,
  });
  assert.equal(conflict.code, 'bad_request');
  const after = (await loadOutbox(db)).sort((a, b) => a.seq - b.seq);
  assert.deepEqual(after.map((e) => e.mutationId), [1, 2, 3]);
  assert.equal((await readClientMeta(db))?.nextMutationId, 4);
  db.close();
});
