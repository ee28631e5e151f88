// What every tab has: the database, the in-memory replicas of the configured collections,
// the outbox as last read, the local edits API, events and status. The leader tab adds
// the sync engine (sync_engine.ts) on top; followers learn through the tab channel.
import { openDatabase, stores } from './db.js';
import { Emitter } from './emitter.js';
import { request, transact } from './idb.js';
import { readMarker, writeMarker, type MarkerStorage } from './marker.js';
import { enqueue, ensureClientMeta, loadOutbox, newClientMeta, type NewEntry, type OutboxEntry } from './outbox.js';
import { Replica } from './replica.js';
import { keyColumns, rowKey } from './row_key.js';
import { clearOtherGenerations, loadRows, loadSubs, newSubState, putSub, type SubState } from './store.js';
import type { TabChannel, TabMessage } from './tabs.js';
import type {
  ClientEvents,
  CollectionStatus,
  Conflict,
  Key,
  MutationOp,
  MutationOutcome,
  Row,
  SyncStatus,
  Value,
} from './types.js';

export interface CollectionConfig {
  // A filter (docs/filters.md) ANDed with the caller's read scope, and its $1, $2, ...
  where?: string;
  params?: Value[];
  // The primary-key columns; by default what GET /v1/collections says (kept for offline
  // starts), else ["id"].
  primaryKey?: string[];
}

export interface Mutation {
  mutationId: number;
  collection: string;
  key: Key;
  op: MutationOp;
  // Settles when the server has answered (in this tab's lifetime).
  result: Promise<MutationOutcome>;
}

export function filterId(c: CollectionConfig): string {
  return JSON.stringify([c.where ?? null, c.params ?? []]);
}

export class Core {
  db!: IDBDatabase;
  clientId = '';
  readonly replicas = new Map<string, Replica>();
  readonly subs = new Map<string, SubState>();
  readonly primaryKeys = new Map<string, string[]>();
  outbox: OutboxEntry[] = [];
  conflicts: Conflict[] = [];
  readonly events = new Emitter<ClientEvents>();
  status: SyncStatus;
  private readonly resolvers = new Map<number, (o: MutationOutcome) => void>();
  private statusQueued = false;
  onStatusChange: (() => void) | null = null; // the leader broadcasts it
  wake: () => void = () => {}; // the leader's push loop

  constructor(
    readonly name: string,
    readonly collections: Record<string, CollectionConfig>,
    readonly channel: TabChannel,
    private readonly factory: IDBFactory,
    private readonly markerStorage: MarkerStorage | null,
  ) {
    const cols: Record<string, CollectionStatus> = {};
    for (const c of Object.keys(collections)) {
      cols[c] = { phase: 'empty', rows: 0, lastSyncedAt: null, error: null };
      this.replicas.set(c, new Replica(c));
    }
    this.status = {
      connection: 'offline',
      role: 'starting',
      collections: cols,
      pending: 0,
      conflicts: 0,
      lastSyncedAt: null,
      storage: { persisted: null, usage: null, quota: null },
      lastError: null,
    };
  }

  replica(collection: string): Replica {
    const r = this.replicas.get(collection);
    if (!r) throw new Error(`fieldsync: collection "${collection}" is not configured in createClient({collections})`);
    return r;
  }

  // Opens the database and loads everything into memory. A database that vanished since
  // the last start (the marker says one existed) gives warnings, and a fresh start.
  async open(): Promise<void> {
    this.db = await openDatabase(this.factory, this.name);
    this.db.onversionchange = () => this.db.close();
    const marker = readMarker(this.markerStorage, this.name);
    const fresh = newClientMeta(crypto.randomUUID(), Date.now());
    const { meta, created } = await ensureClientMeta(this.db, fresh);
    this.clientId = meta.clientId;
    if (created && marker) {
      this.events.emit('warning', {
        code: 'database_vanished',
        message: 'the local database was removed by the browser since the last start: syncing from scratch',
      });
      if (marker.pending > 0) {
        this.events.emit('warning', {
          code: 'unsent_edits_lost',
          message: `${marker.pending} edit(s) not yet sent to the server were lost with the local database`,
        });
      }
    }
    const schemaKeys = await transact(this.db, stores.meta, 'readonly', async (tx) => {
      const out = new Map<string, string[]>();
      for (const c of Object.keys(this.collections)) {
        const s = (await request(tx.objectStore(stores.meta).get(`schema:${c}`))) as { primaryKey: string[] } | undefined;
        if (s) out.set(c, s.primaryKey);
      }
      return out;
    });
    for (const [c, cfg] of Object.entries(this.collections)) {
      this.primaryKeys.set(c, cfg.primaryKey ?? schemaKeys.get(c) ?? ['id']);
    }
    // Subscriptions: a new collection, or a changed filter, starts without a cursor; a
    // snapshot a crash interrupted leaves a generation behind, dropped here.
    const stored = new Map((await loadSubs(this.db)).map((s) => [s.c, s]));
    await transact(this.db, [stores.subs, stores.rows], 'readwrite', (tx) => {
      for (const [c, cfg] of Object.entries(this.collections)) {
        let sub = stored.get(c);
        if (!sub || sub.filter !== filterId(cfg)) {
          sub = { ...newSubState(c, filterId(cfg)), gen: (sub?.gen ?? 0) + 1 };
          putSub(tx, sub);
        } else if (sub.staging !== null && sub.token === null) {
          sub = { ...sub, staging: null };
          putSub(tx, sub);
        }
        // An HTTP snapshot in progress keeps its pages (it resumes from its token) next
        // to the current generation.
        if (sub.staging === null) clearOtherGenerations(tx, c, sub.gen);
        this.subs.set(c, sub);
      }
    });
    for (const c of Object.keys(this.collections)) await this.reloadCollection(c);
    await this.reloadOutbox();
    this.conflicts = await transact(this.db, stores.conflicts, 'readonly', (tx) =>
      request(tx.objectStore(stores.conflicts).getAll() as IDBRequest<Conflict[]>),
    );
    this.status.conflicts = this.conflicts.length;
    this.db.onclose = () => this.vanishedWhileOpen();
  }

  private vanishedWhileOpen(): void {
    const pending = this.outbox.filter((e) => e.state === 'pending').length;
    this.events.emit('warning', {
      code: 'database_vanished',
      message: 'the browser removed the local database while the app was open; reload the app to sync again',
    });
    if (pending > 0) {
      this.events.emit('warning', {
        code: 'unsent_edits_lost',
        message: `${pending} edit(s) not yet sent to the server were lost with the local database`,
      });
    }
    this.events.emit('error', { code: 'database_closed', message: 'the local database was closed by the browser' });
  }

  async reloadCollection(c: string): Promise<void> {
    const sub = this.subs.get(c);
    if (!sub) return;
    const rows = sub.cursor === null ? new Map() : await loadRows(this.db, c, sub.gen);
    this.replica(c).replaceServer(rows);
    const st = this.status.collections[c];
    if (st) {
      st.rows = rows.size;
      st.lastSyncedAt = sub.syncedAt;
      if (st.phase === 'empty' && sub.cursor !== null) st.phase = 'catching-up';
    }
    this.statusChanged();
  }

  async reloadSubs(): Promise<void> {
    for (const s of await loadSubs(this.db)) if (this.collections[s.c]) this.subs.set(s.c, s);
  }

  // Re-reads the outbox (it is small) and shows it in every replica.
  async reloadOutbox(): Promise<void> {
    this.outbox = (await loadOutbox(this.db)).sort((a, b) => a.seq - b.seq);
    for (const [c, r] of this.replicas) r.setEntries(this.outbox.filter((e) => e.collection === c));
    this.status.pending = this.outbox.filter((e) => e.state === 'pending').length;
    writeMarker(this.markerStorage, this.name, { clientId: this.clientId, pending: this.status.pending });
    this.statusChanged();
  }

  keyOf(collection: string, keyOrRow: Key | Row): Key {
    if (typeof keyOrRow === 'string') return keyOrRow;
    const k = rowKey(keyOrRow, this.primaryKeys.get(collection) ?? ['id']);
    if (k === null) throw new Error(`fieldsync: the row lacks the primary key (${this.primaryKeys.get(collection)?.join(', ')}) of ${collection}`);
    return k;
  }

  // insert/update/delete: the entry (the optimistic change) and the next mutation id in
  // one IndexedDB transaction, before this resolves; then the view shows it, the other
  // tabs learn of it and the leader pushes it.
  async mutate(collection: string, op: MutationOp, keyOrRow: Key | Row, values?: Row): Promise<Mutation> {
    const replica = this.replica(collection);
    const pk = this.primaryKeys.get(collection) ?? ['id'];
    let key: Key;
    let keyValues: Record<string, Value>;
    let set: Row | null = null;
    let base: Row | null = null;
    if (op === 'insert') {
      const row = (values ?? keyOrRow) as Row;
      if (typeof row !== 'object' || row === null) throw new TypeError('fieldsync: insert takes a row object');
      key = this.keyOf(collection, row);
      keyValues = keyColumns(row, pk);
      set = { ...row };
    } else {
      key = this.keyOf(collection, keyOrRow);
      const current = replica.get(key);
      if (!current) throw new Error(`fieldsync: no row ${key} in ${collection}`);
      keyValues = keyColumns(current, pk);
      if (op === 'update') {
        if (!values || typeof values !== 'object') throw new TypeError('fieldsync: update takes the changed columns');
        set = { ...values };
        const b: Record<string, Value> = {};
        for (const col of Object.keys(values)) b[col] = current[col] ?? null;
        base = b;
      } else {
        base = { ...current };
      }
    }
    const entry: NewEntry = {
      collection,
      op,
      key,
      keyValues,
      set,
      base,
      baseVersion: replica.serverRow(key)?.v ?? null,
      createdAt: Date.now(),
    };
    const stored = await enqueue(this.db, entry, Date.now());
    const result = new Promise<MutationOutcome>((resolve) => this.resolvers.set(stored.seq, resolve));
    this.outbox = [...this.outbox, stored];
    replica.setEntries(this.outbox.filter((e) => e.collection === collection));
    this.status.pending = this.outbox.filter((e) => e.state === 'pending').length;
    writeMarker(this.markerStorage, this.name, { clientId: this.clientId, pending: this.status.pending });
    this.statusChanged();
    this.channel.post({ t: 'outbox' });
    this.wake();
    return { mutationId: stored.mutationId, collection, key, op, result };
  }

  deliverOutcomes(items: { seq: number; outcome: MutationOutcome }[]): void {
    for (const { seq, outcome } of items) {
      const resolve = this.resolvers.get(seq);
      if (resolve) {
        this.resolvers.delete(seq);
        resolve(outcome);
      }
    }
  }

  addConflicts(items: Conflict[]): void {
    for (const c of items) {
      this.conflicts.push(c);
      this.events.emit('conflict', c);
    }
    this.status.conflicts = this.conflicts.length;
    this.statusChanged();
  }

  async dismissConflict(id: number): Promise<void> {
    await transact(this.db, stores.conflicts, 'readwrite', (tx) => {
      tx.objectStore(stores.conflicts).delete(id);
    });
    this.forgetConflicts([id]);
    this.channel.post({ t: 'dismissed', ids: [id] });
  }

  private forgetConflicts(ids: number[]): void {
    this.conflicts = this.conflicts.filter((c) => !ids.includes(c.id));
    this.status.conflicts = this.conflicts.length;
    this.statusChanged();
  }

  async saveSchema(collection: string, primaryKey: string[]): Promise<void> {
    if (this.collections[collection]?.primaryKey) return;
    this.primaryKeys.set(collection, primaryKey);
    await transact(this.db, stores.meta, 'readwrite', (tx) => {
      tx.objectStore(stores.meta).put({ primaryKey }, `schema:${collection}`);
    });
  }

  // Status listeners hear about changes once per microtask.
  statusChanged(): void {
    if (this.statusQueued) return;
    this.statusQueued = true;
    queueMicrotask(() => {
      this.statusQueued = false;
      this.onStatusChange?.();
      this.events.emit('status', this.snapshotStatus());
    });
  }

  snapshotStatus(): SyncStatus {
    return structuredClone(this.status);
  }

  // A follower applies what the leader tells the tabs.
  async follow(m: TabMessage): Promise<void> {
    switch (m.t) {
      case 'rows': {
        this.replicas.get(m.c)?.applyServer(m.up, m.del, true);
        const st = this.status.collections[m.c];
        if (st) st.rows = this.replicas.get(m.c)?.serverSize ?? st.rows;
        break;
      }
      case 'reload':
        await this.reloadSubs();
        await this.reloadCollection(m.c);
        break;
      case 'outbox':
        await this.reloadOutbox();
        break;
      case 'outcomes':
        this.deliverOutcomes(m.items);
        break;
      case 'conflicts':
        this.addConflicts(m.items);
        break;
      case 'dismissed':
        this.forgetConflicts(m.ids);
        break;
      case 'status': {
        const own = this.status;
        this.status = { ...m.status, role: own.role, pending: own.pending, conflicts: own.conflicts };
        this.statusChanged();
        break;
      }
      case 'warning':
        this.events.emit('warning', {
          code: m.code as 'reset',
          message: m.message,
          ...(m.collection ? { collection: m.collection } : {}),
        });
        break;
      case 'error':
        this.events.emit('error', { code: m.code, message: m.message, ...(m.collection ? { collection: m.collection } : {}) });
        break;
      default:
        break;
    }
  }
}
