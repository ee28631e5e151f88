// The IndexedDB database of one client (docs/web-client.md, "Storage layout"):
//
//   rows       key [collection, generation, key] -> { v: version, r: row }: the server's rows
//              exactly as received (never the optimistic ones). A re-snapshot writes a new
//              generation and switches to it atomically, so a reader never sees half of one.
//   subs       keyPath "c": per collection its subscription's state: the generation, the
//              cursor of the last applied message (written in the same transaction as the
//              rows it covers), an HTTP snapshot token, the last time it was caught up.
//   outbox     keyPath "seq" (auto-increment: the local order): unsent and acknowledged
//              edits (outbox.ts).
//   meta       key "client" -> the client id, the next mutation id, the clock; "schema:<c>"
//              -> a collection's primary key and columns.
//   conflicts  keyPath "id": refused edits, kept until the app dismisses them.
export const dbVersion = 1;
export const stores = {
  rows: 'rows',
  subs: 'subs',
  outbox: 'outbox',
  meta: 'meta',
  conflicts: 'conflicts',
} as const;

export function databaseName(name: string): string {
  return `fieldsync:${name}`;
}

export function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = factory.open(databaseName(name), dbVersion);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(stores.rows)) db.createObjectStore(stores.rows);
      if (!db.objectStoreNames.contains(stores.subs)) db.createObjectStore(stores.subs, { keyPath: 'c' });
      if (!db.objectStoreNames.contains(stores.outbox)) {
        db.createObjectStore(stores.outbox, { keyPath: 'seq', autoIncrement: true });
      }
      if (!db.objectStoreNames.contains(stores.meta)) db.createObjectStore(stores.meta);
      if (!db.objectStoreNames.contains(stores.conflicts)) {
        db.createObjectStore(stores.conflicts, { keyPath: 'id', autoIncrement: true });
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('cannot open IndexedDB'));
    req.onblocked = () => {
      // Another tab holds an older version open; it closes on versionchange (client.ts).
    };
  });
}

// The key range of one generation of a collection's rows. Arrays sort after strings in
// IndexedDB's key order, so [c, g, []] is above every [c, g, <string key>].
export function generationRange(collection: string, gen: number): IDBKeyRange {
  return IDBKeyRange.bound([collection, gen], [collection, gen, []]);
}

// Every generation of a collection.
export function collectionRange(collection: string): IDBKeyRange {
  return IDBKeyRange.bound([collection], [collection, []]);
}
