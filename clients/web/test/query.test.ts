// Local queries: filters, sort, limit (top-k), and live queries updated by changes.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { LiveQuery, runQuery } from '../sdk/query.js';
import { Replica } from '../sdk/replica.js';
import type { OutboxEntry } from '../sdk/outbox.js';
import type { Row } from '../sdk/types.js';

function replicaOf(rows: Row[]): Replica {
  const r = new Replica('accounts');
  r.replaceServer(new Map(rows.map((row, i) => [String(row.id), { v: `0/${i + 1}`, r: row }])));
  return r;
}

const names = ['Apotheke Nord', 'apotheke süd', 'Ärztehaus Mitte', 'Praxis Dr. Berg', 'APO am Markt', 'Klinikum West'];
const rows: Row[] = names.map((name, i) => ({ id: i + 1, name, segment: i % 2 ? 'B' : 'A', revenue: i % 3 === 0 ? '123456789012345678' : i * 10, city: i === 5 ? null : 'Berlin' }));

test('filters: equality, prefix and contains ignoring case, ranges, in, null', () => {
  const r = replicaOf(rows);
  const ids = (x: Row[]) => x.map((row) => row.id);
  assert.deepEqual(ids(runQuery(r, { name: { prefix: 'apo' } }, 'id')), [1, 2, 5]);
  assert.deepEqual(ids(runQuery(r, { name: { prefix: 'ärz' } }, 'id')), [3]);
  assert.deepEqual(ids(runQuery(r, { name: { contains: 'DR.' } }, 'id')), [4]);
  assert.deepEqual(ids(runQuery(r, { segment: 'A', name: { prefix: 'a' } }, 'id')), [1, 5]);
  assert.deepEqual(ids(runQuery(r, { id: { gte: 2, lt: 4 } }, 'id')), [2, 3]);
  assert.deepEqual(ids(runQuery(r, { id: { in: [1, 6] } }, 'id')), [1, 6]);
  assert.deepEqual(ids(runQuery(r, { city: { isNull: true } })), [6]);
  assert.deepEqual(ids(runQuery(r, (row) => row.segment === 'B', { by: 'id', desc: true })), [6, 4, 2]);
  // an int8 beyond 2^53 held as a string sorts numerically among numbers
  assert.deepEqual(ids(runQuery(r, undefined, [{ by: 'revenue', desc: true }, 'id'])).slice(0, 2), [1, 4]);
});

test('a limit returns the first rows in sort order, the same as sorting everything', () => {
  const many: Row[] = [];
  for (let i = 0; i < 2000; i++) many.push({ id: i, name: `n${(i * 7919) % 1000}`, score: (i * 31) % 97 });
  const r = replicaOf(many);
  const full = runQuery(r, { score: { gt: 10 } }, ['score', 'name']);
  for (const k of [0, 1, 7, 50, 5000]) {
    assert.deepEqual(runQuery(r, { score: { gt: 10 } }, ['score', 'name'], { limit: k }), full.slice(0, k), `k=${k}`);
  }
});

test('a live query follows server changes and local edits, and stops when dropped', async () => {
  const r = replicaOf(rows);
  const q = new LiveQuery(r, { name: { prefix: 'apo' } }, 'name', { limit: 2 });
  const seen: string[][] = [];
  const stop = q.subscribe((x) => seen.push(x.map((row) => String(row.name))), { immediate: true });
  assert.deepEqual(seen[0], ['APO am Markt', 'Apotheke Nord']);
  r.applyServer([['7', { v: '0/9', r: { id: 7, name: 'Apo Alpha' } }]], []);
  await Promise.resolve();
  assert.deepEqual(seen.at(-1), ['APO am Markt', 'Apo Alpha']);
  r.applyServer([], [['5', '0/10']]);
  await Promise.resolve();
  assert.deepEqual(seen.at(-1), ['Apo Alpha', 'Apotheke Nord']);
  const edit: OutboxEntry = {
    seq: 1, mutationId: 1, collection: 'accounts', op: 'update', key: '1', keyValues: { id: 1 }, set: { name: 'Zahnarzt' },
    base: null, baseVersion: null, clientTs: '', createdAt: 0, state: 'pending', ack: null,
  };
  r.setEntries([edit]);
  await Promise.resolve();
  assert.deepEqual(seen.at(-1), ['Apo Alpha', 'apotheke süd'], 'an optimistic edit moves the row out');
  r.setEntries([]);
  await Promise.resolve();
  assert.deepEqual(seen.at(-1), ['Apo Alpha', 'Apotheke Nord'], 'its rollback moves it back');
  const count = seen.length;
  stop();
  r.applyServer([['8', { v: '0/11', r: { id: 8, name: 'Apo Beta' } }]], []);
  await Promise.resolve();
  assert.equal(seen.length, count, 'no callbacks after unsubscribing');
  assert.deepEqual(q.rows.map((row) => row.name), ['Apo Alpha', 'Apo Beta'], 'rows still answer, evaluated on read');
});

test('prefix queries on a big collection (from its index) equal a full scan, across changes', () => {
  const words = ['Apotheke', 'apfel', 'Ärzte', 'Praxis', 'praxis', 'Klinik', 'ΣΟΦΙΑ', 'Ölmühle'];
  const big: Row[] = [];
  for (let i = 0; i < 6000; i++) big.push({ id: i, name: `${words[i % words.length]} ${(i * 7919) % 6000}` });
  const r = replicaOf(big);
  const brute = (prefix: string) =>
    r.rows().filter((row) => typeof row.name === 'string' && row.name.toLowerCase().startsWith(prefix.toLowerCase()))
      .sort((a, b) => (String(a.name) < String(b.name) ? -1 : String(a.name) > String(b.name) ? 1 : 0))
      .map((row) => row.id);
  const check = (label: string) => {
    for (const p of ['a', 'ap', 'APO', 'apotheke 1', 'praxis 59', 'är', 'σοφ', 'ölm', 'zzz', 'Klinik 123']) {
      const got = runQuery(r, { name: { prefix: p } }, ['name', 'id']).map((row) => row.id);
      const want = brute(p);
      assert.deepEqual(got.length, want.length, `${label}: ${p}`);
      assert.deepEqual(new Set(got), new Set(want), `${label}: ${p}`);
      assert.deepEqual(runQuery(r, { name: { prefix: p } }, ['name', 'id'], { limit: 5 }).map((row) => row.id), got.slice(0, 5), `${label}: ${p} top 5`);
    }
  };
  check('initial');
  r.applyServer([['1', { v: '0/9', r: { id: 1, name: 'Apotheke neu' } }], ['9000', { v: '0/9', r: { id: 9000, name: 'apotheke 1 zusatz' } }]], [['2', '0/9'], ['3', '0/9']]);
  check('after server changes');
  r.setEntries([{
    seq: 1, mutationId: 1, collection: 'accounts', op: 'update', key: '4', keyValues: { id: 4 }, set: { name: 'Praxis 59 lokal' },
    base: null, baseVersion: null, clientTs: '', createdAt: 0, state: 'pending', ack: null,
  }]);
  check('after a local edit');
  r.setEntries([]);
  check('after its rollback');
});
