// The server's rows and the subscriptions' cursors in IndexedDB (db.ts has the layout).
// Every function that takes a transaction only issues requests on it; the caller decides
// what goes into one transaction, and says so:
//  - a snapshot page and (on the last page) the cursor and the switch to its generation;
//  - a run of changes and the cursor after the last of them;
// so that after any crash the stored cursor describes exactly the stored rows.
import { collectionRange, generationRange, stores } from './db.js';
import { request, transact } from './idb.js';
import type { Key, Row } from './types.js';

export interface StoredRow {
  v: string; // version
  r: Row;
}

export interface SubState {
  c: string; // collection
  filter: string; // JSON of [where, params]: another filter means another data set
  gen: number; // the generation holding the rows the cursor describes
  cursor: string | null; // null: no complete snapshot yet
  staging: number | null; // a snapshot in progress writes this generation
  token: string | null; // HTTP pulls: the snapshot token of the staging generation
  syncedAt: number | null; // last time it was caught up
}

export function newSubState(collection: string, filter: string): SubState {
  return { c: collection, filter, gen: 1, cursor: null, staging: null, token: null, syncedAt: null };
}

export async function loadSubs(db: IDBDatabase): Promise<SubState[]> {
  return transact(db, stores.subs, 'readonly', (tx) =>
    request(tx.objectStore(stores.subs).getAll() as IDBRequest<SubState[]>),
  );
}

export function putSub(tx: IDBTransaction, sub: SubState): void {
  tx.objectStore(stores.subs).put(sub);
}

// All rows of one generation, by key.
export async function loadRows(db: IDBDatabase, collection: string, gen: number): Promise<Map<Key, StoredRow>> {
  return transact(db, stores.rows, 'readonly', async (tx) => {
    const store = tx.objectStore(stores.rows);
    const range = generationRange(collection, gen);
    const [keys, values] = await Promise.all([
      request(store.getAllKeys(range)),
      request(store.getAll(range) as IDBRequest<StoredRow[]>),
    ]);
    const out = new Map<Key, StoredRow>();
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as [string, number, string];
      out.set(k[2], values[i] as StoredRow);
    }
    return out;
  });
}

// Starts reading one generation now (the reads see the store as of this call, whatever
// read-write transactions are created after it) and resolves with its rows.
export function readGenerationNow(db: IDBDatabase, collection: string, gen: number): Promise<[Key, StoredRow][]> {
  const tx = db.transaction(stores.rows, 'readonly');
  const store = tx.objectStore(stores.rows);
  const range = generationRange(collection, gen);
  const keys = request(store.getAllKeys(range));
  const values = request(store.getAll(range) as IDBRequest<StoredRow[]>);
  return Promise.all([keys, values]).then(([k, v]) =>
    k.map((key, i) => [(key as [string, number, string])[2], v[i] as StoredRow]),
  );
}

export function putRows(tx: IDBTransaction, collection: string, gen: number, rows: Iterable<[Key, StoredRow]>): void {
  const store = tx.objectStore(stores.rows);
  for (const [k, row] of rows) store.put(row, [collection, gen, k]);
}

export function deleteRow(tx: IDBTransaction, collection: string, gen: number, key: Key): void {
  tx.objectStore(stores.rows).delete([collection, gen, key]);
}

export function clearGeneration(tx: IDBTransaction, collection: string, gen: number): void {
  tx.objectStore(stores.rows).delete(generationRange(collection, gen));
}

// Drops every generation of the collection but `keep` (left over by a snapshot a crash
// interrupted, or by a switch whose clean-up did not run).
export function clearOtherGenerations(tx: IDBTransaction, collection: string, keep: number): void {
  const store = tx.objectStore(stores.rows);
  store.delete(IDBKeyRange.bound([collection], [collection, keep], false, true));
  store.delete(IDBKeyRange.bound([collection, keep, []], [collection, []], true, false));
}

export function clearCollection(tx: IDBTransaction, collection: string): void {
  tx.objectStore(stores.rows).delete(collectionRange(collection));
}
