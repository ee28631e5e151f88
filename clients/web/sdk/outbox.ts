// The durable outbox: every local edit is one entry, written in the same IndexedDB
// transaction as the client's next mutation id and clock, before insert/update/delete
// returns. The entry is the optimistic change: the view replays it over the server's
// rows (overlay.ts) until the server's answer and the change it made have both arrived.
//
// Mutation ids are consecutive per client id (docs/mutations.md, "Exactly once"): the id
// is taken from meta "client" inside the enqueue transaction, so tabs writing at the same
// time (IndexedDB serialises their transactions) never share or skip one.
import { hlcSend, type Hlc } from './hlc.js';
import { request, transact } from './idb.js';
import { stores } from './db.js';
import type { Conflict, MutationOp, Row, Value } from './types.js';
import type { WireMutation } from './wire.js';
import { formatHlc } from './hlc.js';

export interface Ack {
  status: 'applied' | 'merged';
  version: string | null;
  row: Row | null; // merged: the row after the write, when the caller may read it
  at: number;
}

export interface OutboxEntry {
  seq: number;
  mutationId: number;
  collection: string;
  op: MutationOp;
  key: string;
  keyValues: Record<string, Value>;
  set: Row | null; // insert: the row; update: the changed columns
  base: Row | null; // update: those columns before the edit; delete: the row
  baseVersion: string | null;
  clientTs: string;
  createdAt: number;
  // pending: not answered yet. acked: answered applied/merged; kept (not sent again) until
  // the change it made reaches the local rows, so the view does not flicker back.
  state: 'pending' | 'acked';
  ack: Ack | null;
}

export type NewEntry = Omit<OutboxEntry, 'seq' | 'mutationId' | 'clientTs' | 'state' | 'ack'>;

export interface ClientMeta {
  clientId: string;
  nextMutationId: number;
  clock: Hlc;
  createdAt: number;
}

export const metaKey = 'client';

export function newClientMeta(clientId: string, now: number): ClientMeta {
  return { clientId, nextMutationId: 1, clock: { pt: 0, c: 0 }, createdAt: now };
}

export async function readClientMeta(db: IDBDatabase): Promise<ClientMeta | undefined> {
  return transact(db, stores.meta, 'readonly', (tx) =>
    request(tx.objectStore(stores.meta).get(metaKey) as IDBRequest<ClientMeta | undefined>),
  );
}

// Creates the client's meta record unless one exists; returns the one stored.
export async function ensureClientMeta(db: IDBDatabase, fresh: ClientMeta): Promise<{ meta: ClientMeta; created: boolean }> {
  return transact(db, stores.meta, 'readwrite', async (tx) => {
    const store = tx.objectStore(stores.meta);
    const found = (await request(store.get(metaKey))) as ClientMeta | undefined;
    if (found) return { meta: found, created: false };
    store.put(fresh, metaKey);
    return { meta: fresh, created: true };
  });
}

// One transaction: the next mutation id and clock tick, and the entry. Resolves once it
// has committed (the edit survives a crash from then on).
export async function enqueue(db: IDBDatabase, entry: NewEntry, now: number): Promise<OutboxEntry> {
  return transact(db, [stores.outbox, stores.meta], 'readwrite', async (tx) => {
    const meta = (await request(tx.objectStore(stores.meta).get(metaKey))) as ClientMeta | undefined;
    if (!meta) throw new Error('fieldsync: the client record is missing (the database was cleared)');
    const clock = hlcSend(meta.clock, now);
    const full: Omit<OutboxEntry, 'seq'> = {
      ...entry,
      mutationId: meta.nextMutationId,
      clientTs: formatHlc(clock, meta.clientId),
      state: 'pending',
      ack: null,
    };
    tx.objectStore(stores.meta).put({ ...meta, nextMutationId: meta.nextMutationId + 1, clock }, metaKey);
    const seq = (await request(tx.objectStore(stores.outbox).add(full))) as number;
    return { ...full, seq };
  });
}

export async function loadOutbox(db: IDBDatabase): Promise<OutboxEntry[]> {
  return transact(db, stores.outbox, 'readonly', (tx) =>
    request(tx.objectStore(stores.outbox).getAll() as IDBRequest<OutboxEntry[]>),
  );
}

// The wire form of an entry (docs/protocol.md, "Mutations").
export function toWire(e: OutboxEntry): WireMutation {
  const m: WireMutation = {
    mutation_id: e.mutationId,
    collection: e.collection,
    op: e.op,
    key: e.keyValues,
    base_version: e.baseVersion,
    client_ts: e.clientTs,
  };
  if (e.set) m.set = e.set;
  if (e.base) m.base = e.base;
  return m;
}

// 409 mutation_gap: the server expects `expected` next, so nothing from there on was
// recorded. The pending entries, in local order, become expected, expected+1, ...; the
// next id continues after them. One transaction, so a tab enqueueing meanwhile either
// comes before (and is renumbered) or after (and gets the next id).
export async function renumberFrom(db: IDBDatabase, expected: number): Promise<void> {
  await transact(db, [stores.outbox, stores.meta], 'readwrite', async (tx) => {
    const outbox = tx.objectStore(stores.outbox);
    const meta = (await request(tx.objectStore(stores.meta).get(metaKey))) as ClientMeta | undefined;
    if (!meta) throw new Error('fieldsync: the client record is missing');
    const all = (await request(outbox.getAll())) as OutboxEntry[];
    let id = expected;
    for (const e of all) {
      if (e.state !== 'pending') continue;
      if (e.mutationId !== id) outbox.put({ ...e, mutationId: id });
      id++;
    }
    tx.objectStore(stores.meta).put({ ...meta, nextMutationId: id }, metaKey);
  });
}

// What a push's answer does to the outbox (push_results.ts decides it).
export interface OutboxUpdate {
  acks: { seq: number; ack: Ack }[];
  retire: number[]; // seqs to drop (answered and already visible, or rejected)
  conflicts: Omit<Conflict, 'id'>[];
}

// Applies an update in one transaction; returns the stored conflicts (with their ids).
export async function applyOutboxUpdate(db: IDBDatabase, u: OutboxUpdate): Promise<Conflict[]> {
  return transact(db, [stores.outbox, stores.conflicts], 'readwrite', async (tx) => {
    const outbox = tx.objectStore(stores.outbox);
    for (const { seq, ack } of u.acks) {
      const e = (await request(outbox.get(seq))) as OutboxEntry | undefined;
      if (e) outbox.put({ ...e, state: 'acked', ack });
    }
    for (const seq of u.retire) outbox.delete(seq);
    const stored: Conflict[] = [];
    for (const c of u.conflicts) {
      const id = (await request(tx.objectStore(stores.conflicts).add(c))) as number;
      stored.push({ ...c, id });
    }
    return stored;
  });
}

// A never-recorded entry dropped from the middle of the queue (the server refused the
// batch it was in for its shape): the pending entries after it move down one id so the
// sequence stays without gaps. Returns the dropped entry's conflict.
export async function dropUnrecorded(db: IDBDatabase, seq: number, conflict: Omit<Conflict, 'id'>): Promise<Conflict> {
  return transact(db, [stores.outbox, stores.meta, stores.conflicts], 'readwrite', async (tx) => {
    const outbox = tx.objectStore(stores.outbox);
    const meta = (await request(tx.objectStore(stores.meta).get(metaKey))) as ClientMeta | undefined;
    const all = (await request(outbox.getAll())) as OutboxEntry[];
    const dropped = all.find((e) => e.seq === seq);
    if (!dropped || !meta) throw new Error('fieldsync: the entry to drop is gone');
    outbox.delete(seq);
    let id = dropped.mutationId;
    for (const e of all) {
      if (e.seq <= seq || e.state !== 'pending') continue;
      outbox.put({ ...e, mutationId: id++ });
    }
    tx.objectStore(stores.meta).put({ ...meta, nextMutationId: id }, metaKey);
    const cid = (await request(tx.objectStore(stores.conflicts).add(conflict))) as number;
    return { ...conflict, id: cid };
  });
}
