// createClient(): the SDK's entry point. docs/web-client.md describes the API.
import { Core, type CollectionConfig, type Mutation } from './core.js';
import { requestPersistence, storageStatus } from './durability.js';
import { HttpApi } from './http_api.js';
import { defaultMarkerStorage, type MarkerStorage } from './marker.js';
import { LiveQuery, runQuery, type QueryOptions, type Sort, type Where } from './query.js';
import { SyncEngine, type EngineOptions } from './sync_engine.js';
import { electLeader, openTabChannel, type TabChannel } from './tabs.js';
import { TokenSource, type GetToken } from './tokens.js';
import type { ClientEvents, Conflict, Key, PendingMutation, Row, SyncStatus } from './types.js';

export interface ClientOptions {
  // The server's base URL ("https://sync.example.com"; default: the page's origin).
  url?: string;
  // The bearer token (a JWT). Called at the first connection, when the token held is
  // about to expire, and after the server refused it.
  getToken: GetToken;
  // The collections to sync, each with an optional filter (ANDed with the read scope).
  collections: Record<string, CollectionConfig>;
  // Several clients of one origin (another user, another app) need different names.
  name?: string;
  transport?: 'auto' | 'websocket' | 'http';
  // Compare the stored rows with the server's after each catch-up (docs/protocol.md,
  // "State check") and re-sync a collection that differs. Default true.
  stateCheck?: boolean;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  snapshotFlushRows?: number;
  maxBatch?: number;
  ackGraceMs?: number;
  // Ask for persistent storage at start (navigator.storage.persist()).
  persist?: boolean;
  // Injection points (tests, other environments).
  indexedDB?: IDBFactory;
  WebSocket?: typeof WebSocket | null;
  fetch?: typeof fetch;
  markerStorage?: MarkerStorage | null;
  tabChannel?: TabChannel;
}

export interface Collection {
  readonly name: string;
  // The view (server rows with pending edits on top) by key or by the key columns.
  get(key: Key | Row): Row | undefined;
  find(where?: Where, sort?: Sort, options?: QueryOptions): Row[];
  query(where?: Where, sort?: Sort, options?: QueryOptions): LiveQuery;
  keyOf(row: Row): Key;
  insert(row: Row): Promise<Mutation>;
  update(key: Key | Row, changes: Row): Promise<Mutation>;
  delete(key: Key | Row): Promise<Mutation>;
}

export interface FieldsyncClient {
  readonly clientId: string;
  readonly status: SyncStatus;
  collection(name: string): Collection;
  on<K extends keyof ClientEvents>(event: K, listener: (value: ClientEvents[K]) => void): () => void;
  // Caught up with the server's position at the call, and the edits pending at the call
  // answered. Rejects when aborted, closed, or a collection failed.
  synced(options?: { signal?: AbortSignal }): Promise<void>;
  pendingMutations(): PendingMutation[];
  conflicts(): Conflict[];
  dismissConflict(id: number): Promise<void>;
  requestPersistence(): Promise<boolean>;
  refreshStorageStatus(): Promise<SyncStatus['storage']>;
  // A liveness check / reconnect attempt now (the SDK also listens to online and
  // visibilitychange).
  reconnectNow(): void;
  close(): Promise<void>;
}

export async function createClient(options: ClientOptions): Promise<FieldsyncClient> {
  const name = options.name ?? 'default';
  const base = (options.url ?? (typeof location !== 'undefined' ? location.origin : '')).replace(/\/$/, '');
  if (!base) throw new Error('fieldsync: createClient needs a url outside a browser page');
  const factory = options.indexedDB ?? (typeof indexedDB !== 'undefined' ? indexedDB : undefined);
  if (!factory) throw new Error('fieldsync: no IndexedDB in this environment');
  const channel = options.tabChannel ?? openTabChannel(name);
  const core = new Core(
    name,
    options.collections,
    channel,
    factory,
    options.markerStorage === undefined ? defaultMarkerStorage() : options.markerStorage,
  );
  // Listen before loading, so nothing the leader says meanwhile is missed (applying a
  // row change twice is harmless: versions decide).
  const early: import('./tabs.js').TabMessage[] = [];
  let loaded = false;
  let engine: SyncEngine | null = null;
  const syncedWaiters = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const answering = new Set<string>(); // synced? requests the leader is working on
  channel.onMessage((m) => {
    if (!loaded) {
      early.push(m);
      return;
    }
    void onTabMessage(m);
  });
  async function onTabMessage(m: import('./tabs.js').TabMessage): Promise<void> {
    if (m.t === 'synced?') {
      if (!engine || answering.has(m.id)) return;
      answering.add(m.id);
      engine.synced().finally(() => answering.delete(m.id)).then(
        () => channel.post({ t: 'synced!', id: m.id, ok: true }),
        (e: unknown) => channel.post({ t: 'synced!', id: m.id, ok: false, error: String(e) }),
      );
      return;
    }
    if (m.t === 'synced!') {
      const w = syncedWaiters.get(m.id);
      if (w) {
        syncedWaiters.delete(m.id);
        if (m.ok) w.resolve();
        else w.reject(new Error(m.error ?? 'synced() failed in the leader tab'));
      }
      return;
    }
    if (m.t === 'hello') {
      if (engine) channel.post({ t: 'status', status: core.snapshotStatus() });
      return;
    }
    if (engine && (m.t === 'outbox')) {
      await core.reloadOutbox();
      core.wake();
      return;
    }
    // A conflict dismissed in any tab leaves every tab's inbox, the leader's too.
    if (!engine || m.t === 'dismissed') await core.follow(m);
  }
  await core.open();
  loaded = true;
  for (const m of early.splice(0)) await onTabMessage(m);

  const tokens = new TokenSource(options.getToken);
  const fetchImpl = options.fetch ?? (typeof fetch !== 'undefined' ? fetch.bind(globalThis) : undefined);
  if (!fetchImpl) throw new Error('fieldsync: no fetch in this environment');
  const api = new HttpApi(base, tokens, fetchImpl);
  const wsImpl = options.WebSocket === undefined ? (typeof WebSocket !== 'undefined' ? WebSocket : null) : options.WebSocket;
  const engineOptions: EngineOptions = {
    wsUrl: base.replace(/^http/, 'ws') + '/v1/ws',
    transport: options.transport ?? 'auto',
    pingIntervalMs: options.pingIntervalMs ?? 15_000,
    pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
    reconnectBaseMs: options.reconnectBaseMs ?? 500,
    reconnectCapMs: options.reconnectCapMs ?? 30_000,
    snapshotFlushRows: options.snapshotFlushRows ?? 5_000,
    maxBatch: options.maxBatch ?? 500,
    ackGraceMs: options.ackGraceMs ?? 10_000,
    stateCheck: options.stateCheck ?? true,
    httpRetryWebSocketMs: 60_000,
    webSocket: wsImpl,
  };

  let closed = false;
  let release: () => void = () => {};
  const released = new Promise<void>((r) => (release = r));
  core.status.role = 'follower';
  electLeader(
    name,
    () => {
      if (closed) return;
      core.status.role = 'leader';
      // The previous leader may have died mid-way: what is stored is the truth.
      void core
        .reloadSubs()
        .then(() => core.reloadOutbox())
        .then(() => {
          if (closed) return;
          const own = new SyncEngine(core, api, tokens, engineOptions);
          engine = own;
          core.onStatusChange = () => channel.post({ t: 'status', status: core.snapshotStatus() });
          own.start();
          // synced() calls made while this tab waited for the lock are answered here.
          for (const [id, w] of [...syncedWaiters]) {
            syncedWaiters.delete(id);
            own.synced().then(w.resolve, w.reject);
          }
          core.statusChanged();
        })
        .catch((e: unknown) => {
          if (!closed) core.events.emit('error', { code: 'internal', message: `fieldsync: taking the lead failed: ${String(e)}` });
        });
    },
    released,
  );
  channel.post({ t: 'hello' });
  if (options.persist) void requestPersistence().then(() => refreshStorage());
  async function refreshStorage(): Promise<SyncStatus['storage']> {
    core.status.storage = await storageStatus();
    core.statusChanged();
    return core.status.storage;
  }
  void refreshStorage();

  const collections = new Map<string, Collection>();
  const client: FieldsyncClient = {
    get clientId() {
      return core.clientId;
    },
    get status() {
      return core.snapshotStatus();
    },
    collection(cname: string): Collection {
      let c = collections.get(cname);
      if (c) return c;
      const replica = core.replica(cname);
      c = {
        name: cname,
        get: (key) => replica.get(core.keyOf(cname, key)),
        find: (where, sort, opts) => runQuery(replica, where, sort, opts),
        query: (where, sort, opts) => new LiveQuery(replica, where, sort, opts),
        keyOf: (row) => core.keyOf(cname, row),
        insert: (row) => core.mutate(cname, 'insert', row),
        update: (key, changes) => core.mutate(cname, 'update', key, changes),
        delete: (key) => core.mutate(cname, 'delete', key),
      };
      collections.set(cname, c);
      return c;
    },
    on: (event, listener) => core.events.on(event, listener),
    synced(opts = {}) {
      if (closed) return Promise.reject(new Error('fieldsync: the client was closed'));
      if (engine) return engine.synced(opts.signal);
      // A follower asks the leader, again every 2 s (a leader that died meanwhile never
      // answers; its successor does). If this tab becomes the leader first, it answers.
      const id = crypto.randomUUID();
      return new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => channel.post({ t: 'synced?', id }), 2000);
        const settle = (f: () => void) => {
          clearInterval(timer);
          syncedWaiters.delete(id);
          f();
        };
        syncedWaiters.set(id, { resolve: () => settle(resolve), reject: (e) => settle(() => reject(e)) });
        opts.signal?.addEventListener('abort', () => settle(() => reject(new DOMException('synced() was aborted', 'AbortError'))));
        channel.post({ t: 'synced?', id });
      });
    },
    pendingMutations: () =>
      core.outbox.map((e) => ({
        mutationId: e.mutationId,
        collection: e.collection,
        key: e.key,
        op: e.op,
        state: e.state === 'pending' ? 'pending' : 'acknowledged',
        createdAt: e.createdAt,
      })),
    conflicts: () => [...core.conflicts],
    dismissConflict: (id) => core.dismissConflict(id),
    requestPersistence: async () => {
      const ok = await requestPersistence();
      await refreshStorage();
      return ok;
    },
    refreshStorageStatus: refreshStorage,
    reconnectNow: () => engine?.hint(),
    async close() {
      if (closed) return;
      closed = true;
      engine?.stop();
      release();
      channel.close();
      for (const w of syncedWaiters.values()) w.reject(new Error('fieldsync: the client was closed'));
      core.db.close();
    },
  };
  return client;
}
