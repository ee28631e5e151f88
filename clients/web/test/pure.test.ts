// Pure pieces: backoff bounds, the clock, overlay replay order, push result planning,
// retirement, row keys, LSN order.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Backoff } from '../sdk/backoff.js';
import { compareHlc, formatHlc, hlcReceive, hlcSend, parseHlc, ClockDriftError, type Hlc } from '../sdk/hlc.js';
import { compareLsn } from '../sdk/lsn.js';
import type { OutboxEntry } from '../sdk/outbox.js';
import { replay } from '../sdk/overlay.js';
import { planBatchError, planPushReply } from '../sdk/push_results.js';
import { retiredByChanges, retiredByState } from '../sdk/retire.js';
import { rowKey } from '../sdk/row_key.js';

test('backoff: full jitter stays within [0, min(cap, base * 2^n)] and the ceiling doubles up to the cap', () => {
  for (const r of [0, 0.25, 0.5, 0.999999]) {
    const b = new Backoff({ baseMs: 100, capMs: 5000, random: () => r });
    const ceilings = [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000];
    for (const c of ceilings) {
      const d = b.next();
      assert.ok(d >= 0 && d <= c, `delay ${d} within [0, ${c}]`);
      assert.equal(d, Math.floor(r * c));
    }
  }
  const b = new Backoff({ baseMs: 100, capMs: 5000, random: () => 0.999 });
  for (let i = 0; i < 100; i++) assert.ok(b.next() <= 5000); // no overflow after many tries
  b.reset();
  assert.equal(b.attempts, 0);
  assert.ok(b.next() <= 100);
});

test('hlc: send is strictly monotonic even when the wall clock goes backwards', () => {
  let clock: Hlc = { pt: 0, c: 0 };
  const nows = [1000, 1000, 1000, 999, 500, 2000, 2000, 1500, 3000];
  const seen: Hlc[] = [];
  for (const now of nows) {
    clock = hlcSend(clock, now);
    seen.push(clock);
  }
  for (let i = 1; i < seen.length; i++) assert.equal(compareHlc(seen[i - 1] as Hlc, seen[i] as Hlc), -1);
  assert.deepEqual(seen[2], { pt: 1000, c: 2 });
  assert.deepEqual(seen[4], { pt: 1000, c: 4 });
  assert.deepEqual(seen[5], { pt: 2000, c: 0 });
});

test('hlc: receive moves past remote clocks, refuses one too far ahead, and never overflows the counter', () => {
  const mine: Hlc = { pt: 1000, c: 3 };
  const got = hlcReceive(mine, { pt: 1000, c: 7 }, 900);
  assert.deepEqual(got, { pt: 1000, c: 8 });
  assert.deepEqual(hlcReceive(mine, { pt: 1200, c: 2 }, 1100), { pt: 1200, c: 3 });
  assert.deepEqual(hlcReceive(mine, { pt: 10, c: 2 }, 5000), { pt: 5000, c: 0 });
  assert.throws(() => hlcReceive(mine, { pt: 100_000, c: 0 }, 1000, 60_000), ClockDriftError);
  const full = hlcSend({ pt: 1000, c: 0xffff }, 1000);
  assert.deepEqual(full, { pt: 1001, c: 0 });
  assert.equal(compareHlc({ pt: 1000, c: 0xffff }, full), -1);
});

test('hlc: the text form sorts like the clocks and parses back', () => {
  const node = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
  const clocks: Hlc[] = [
    { pt: Date.UTC(2026, 10, 25, 11, 4, 51, 123), c: 0 },
    { pt: Date.UTC(2026, 10, 25, 11, 4, 51, 123), c: 0x1f },
    { pt: Date.UTC(2026, 10, 25, 11, 4, 51, 124), c: 0 },
  ];
  const texts = clocks.map((c) => formatHlc(c, node));
  assert.equal(texts[1], '2026-11-25T11:04:51.123Z-001F-7c9e6679-7425-40de-944b-e07fc1f90ae7');
  assert.deepEqual([...texts].sort(), texts);
  const back = parseHlc(texts[1] as string);
  assert.deepEqual(back, { pt: clocks[1]?.pt, c: 0x1f, node });
  assert.equal(parseHlc('nonsense'), null);
});

function entry(seq: number, op: OutboxEntry['op'], set: Record<string, unknown> | null, extra: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    seq,
    mutationId: seq,
    collection: 'accounts',
    op,
    key: 'a1',
    keyValues: { id: 'a1' },
    set: set as OutboxEntry['set'],
    base: null,
    baseVersion: null,
    clientTs: '',
    createdAt: 0,
    state: 'pending',
    ack: null,
    ...extra,
  };
}

test('overlay: entries replay over the server row in local order', () => {
  const server = { id: 'a1', name: 'Nord', city: 'Berlin', segment: 'A' };
  assert.deepEqual(replay(server, [entry(1, 'update', { name: 'Süd' }), entry(2, 'update', { name: 'Ost', city: 'Köln' })]), {
    id: 'a1',
    name: 'Ost',
    city: 'Köln',
    segment: 'A',
  });
  // order matters: the later entry wins
  assert.equal(replay(server, [entry(1, 'update', { name: 'Ost' }), entry(2, 'update', { name: 'Süd' })])?.name, 'Süd');
  assert.equal(replay(server, [entry(1, 'update', { name: 'Ost' }), entry(2, 'delete', null)]), undefined);
  assert.deepEqual(replay(server, [entry(1, 'delete', null), entry(2, 'insert', { id: 'a1', name: 'Neu' })]), { id: 'a1', name: 'Neu' });
  assert.equal(replay(undefined, [entry(1, 'update', { name: 'x' })]), undefined); // a row that is gone stays gone
  assert.deepEqual(replay(undefined, [entry(1, 'insert', { id: 'a1', name: 'x' }), entry(2, 'update', { city: 'y' })]), {
    id: 'a1',
    name: 'x',
    city: 'y',
  });
  // an acknowledged merge shows the server's merged row, later entries go on top of it
  const merged = entry(1, 'update', { name: 'Mine' }, {
    state: 'acked',
    ack: { status: 'merged', version: '0/10', row: { id: 'a1', name: 'Merged', city: 'Berlin', segment: 'A' }, at: 0 },
  });
  assert.equal(replay(server, [merged])?.name, 'Merged');
  assert.equal(replay(server, [merged, entry(2, 'update', { segment: 'B' })])?.segment, 'B');
  assert.deepEqual(server, { id: 'a1', name: 'Nord', city: 'Berlin', segment: 'A' }); // never mutated
});

test('push results: applied, merged, rejected, duplicates with and without their original', () => {
  const sent = [1, 2, 3, 4, 5, 6].map((i) => entry(i, 'update', { name: `v${i}` }));
  const { update, outcomes } = planPushReply(
    sent,
    [
      { mutation_id: 1, status: 'applied', version: '0/A0' },
      { mutation_id: 2, status: 'merged', version: '0/A0', row: { id: 'a1', name: 'm' } },
      { mutation_id: 3, status: 'rejected', code: 'conflict', message: 'notes changed', row: { id: 'a1', name: 'theirs' }, version: '0/9', fields: ['name'] },
      { mutation_id: 4, status: 'duplicate', original: { mutation_id: 4, status: 'rejected', code: 'forbidden', message: 'no' } },
      { mutation_id: 5, status: 'duplicate', original: null },
      // 6: no result (the answer was cut short): stays pending
    ],
    42,
  );
  assert.deepEqual(update.acks.map((a) => [a.seq, a.ack.status, a.ack.version]), [
    [1, 'applied', '0/A0'],
    [2, 'merged', '0/A0'],
    [5, 'applied', null],
  ]);
  assert.deepEqual(update.acks[1]?.ack.row, { id: 'a1', name: 'm' });
  assert.deepEqual(update.retire, [3, 4]);
  assert.equal(update.conflicts.length, 2);
  assert.deepEqual(
    { code: update.conflicts[0]?.code, serverRow: update.conflicts[0]?.serverRow, rejected: update.conflicts[0]?.rejected, fields: update.conflicts[0]?.fields },
    { code: 'conflict', serverRow: { id: 'a1', name: 'theirs' }, rejected: { name: 'v3' }, fields: ['name'] },
  );
  assert.equal(update.conflicts[1]?.code, 'forbidden');
  assert.deepEqual(outcomes.map((o) => [o.seq, o.result.status]), [
    [1, 'applied'],
    [2, 'merged'],
    [3, 'rejected'],
    [4, 'rejected'],
    [5, 'applied'],
  ]);
});

test('batch errors: gaps renumber, 503s retry after Retry-After, shape errors split down to one and drop it', () => {
  assert.deepEqual(planBatchError('mutation_gap', '', 5, 17, null), { kind: 'renumber', expected: 17 });
  assert.deepEqual(planBatchError('row_locked', '', 5, undefined, 3000), { kind: 'retry', afterMs: 3000 });
  assert.deepEqual(planBatchError('database_unavailable', '', 5, undefined, null), { kind: 'retry', afterMs: 5000 });
  assert.deepEqual(planBatchError('batch_too_large', '', 5, undefined, null), { kind: 'split' });
  assert.deepEqual(planBatchError('bad_request', 'x', 1, undefined, null), { kind: 'drop-first', code: 'bad_request', message: 'x' });
  assert.deepEqual(planBatchError('token_expired', '', 1, undefined, null), { kind: 'reauth' });
  assert.equal(planBatchError('client_not_yours', 'm', 1, undefined, null).kind, 'stop');
});

test('retirement: the origin echo, a version at or after the acknowledged one, the held version, the grace time', () => {
  const acked = (seq: number, version: string | null, at = 0) =>
    entry(seq, 'update', { name: 'x' }, { state: 'acked', ack: { status: 'applied', version, at, row: null } });
  const entries = [acked(1, '0/100'), acked(2, null), entry(3, 'update', { name: 'p' }), acked(4, null, 1000)];
  assert.deepEqual(retiredByChanges(entries, [{ collection: 'accounts', key: 'a1', version: '0/FF' }], 'me'), []);
  assert.deepEqual(retiredByChanges(entries, [{ collection: 'accounts', key: 'a1', version: '0/100' }], 'me'), [1]);
  assert.deepEqual(
    retiredByChanges(entries, [{ collection: 'accounts', key: 'a1', version: '0/50', origin: { client_id: 'me', mutation_id: 2 } }], 'me'),
    [1, 2],
  );
  assert.deepEqual(
    retiredByChanges(entries, [{ collection: 'accounts', key: 'a1', version: '0/50', origin: { client_id: 'other', mutation_id: 9 } }], 'me'),
    [],
  );
  assert.deepEqual(retiredByChanges(entries, [{ collection: 'visits', key: 'a1', version: '1/0' }], 'me'), []);
  // a write that changed nothing: the row already has that version
  assert.deepEqual(retiredByState(entries, () => '0/100', 500, 10_000), [1]);
  assert.deepEqual(retiredByState(entries, () => undefined, 10_500, 10_000), [1, 2]);
  assert.deepEqual(retiredByState(entries, () => undefined, 11_000, 10_000), [1, 2, 4]);
});

test('row keys are the server canonical key text', () => {
  assert.equal(rowKey({ id: 42, name: 'x' }, ['id']), '42');
  assert.equal(rowKey({ id: '6f1c0a4e-0000-4000-8000-000000000001' }, ['id']), '6f1c0a4e-0000-4000-8000-000000000001');
  assert.equal(rowKey({ rep_id: 7, month: '2026-11-01' }, ['rep_id', 'month']), '[7,"2026-11-01"]');
  assert.equal(rowKey({ id: null }, ['id']), null);
  assert.equal(rowKey({ a: 1 }, ['id']), null);
});

test('versions order as LSNs, not as text', () => {
  assert.equal(compareLsn('4/102A20', '4/93820'), 1);
  assert.equal(compareLsn('0/16B3A28', '0/16B3A28'), 0);
  assert.equal(compareLsn('0/1', '1/0'), -1);
  assert.equal(compareLsn(null, '0/1'), -1);
});
