// The leader tab's sync: one WebSocket session at a time (or HTTP long-polls when no
// WebSocket can be opened), the subscriptions' snapshots and changes written to IndexedDB
// with their cursors, the push loop, the state check, reconnects with backoff.
//
// Messages are handled one after another in arrival order (drain); what one message does
// to IndexedDB is one transaction, and a run of changes is one transaction with the
// cursor after its last change. The in-memory view is updated as each message is handled
// (before its transaction commits: queries see server data a few ms sooner; a failed
// transaction leaves the cursor behind, so the same changes come again).
import { Backoff } from './backoff.js';
import { stores } from './db.js';
import type { Core } from './core.js';
import { hlcReceive, parseHlc } from './hlc.js';
import { expectedMutationId, HttpError, type HttpApi, type PullPage, type Scope } from './http_api.js';
import { isQuotaError, request, transact } from './idb.js';
import {
  applyOutboxUpdate,
  dropUnrecorded,
  metaKey,
  renumberFrom,
  toWire,
  type ClientMeta,
  type OutboxEntry,
} from './outbox.js';
import { conflictOf, planBatchError, planPushReply, type PlannedOutcome } from './push_results.js';
import { retiredByChanges, retiredByState, type SeenChange } from './retire.js';
import { checkState } from './state_check.js';
import { SocketSession, type SessionClose } from './socket_session.js';
import {
  clearGeneration,
  clearOtherGenerations,
  deleteRow,
  loadRows,
  putRows,
  putSub,
  readGenerationNow,
  type StoredRow,
  type SubState,
} from './store.js';
import type { TokenSource } from './tokens.js';
import type { CollectionPhase, Conflict, Key, MutationOutcome, Row } from './types.js';
import type { MutationResult, ServerMessage } from './wire.js';

export interface EngineOptions {
  wsUrl: string;
  transport: 'auto' | 'websocket' | 'http';
  pingIntervalMs: number;
  pongTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectCapMs: number;
  snapshotFlushRows: number;
  maxBatch: number;
  ackGraceMs: number;
  stateCheck: boolean;
  httpRetryWebSocketMs: number;
  webSocket: typeof WebSocket | null;
}

interface Staging {
  gen: number;
  rows: Map<Key, StoredRow>;
  unflushed: [Key, StoredRow][];
  started: boolean; // its generation was cleared and the sub marks it (first flush done)
  flushes: Promise<void>[];
}

interface SubRuntime {
  name: string;
  scope: Scope;
  wireId: string | null;
  phase: CollectionPhase;
  staging: Staging | null;
  unsubscribing: boolean;
  resynced: boolean; // a digest mismatch re-synced it already in this run
  error: string | null;
}

type PushReply =
  | { kind: 'results'; results: MutationResult[] }
  | { kind: 'error'; code: string; message: string; expected?: number; retryAfterMs: number | null }
  | { kind: 'lost' };

let wireCounter = 0;

export class SyncEngine {
  private readonly runtimes = new Map<string, SubRuntime>();
  private readonly byWire = new Map<string, SubRuntime>();
  private session: SocketSession | null = null;
  private inbox: ServerMessage[] = [];
  private draining = false;
  private stopped = false;
  private mode: 'websocket' | 'http';
  private wsFailures = 0;
  private readonly backoff: Backoff;
  private sleeper: { timer: ReturnType<typeof setTimeout>; wake: () => void } | null = null;
  private readonly ticks = new Set<() => void>();
  private pushWake: (() => void) | null = null;
  private pushWaiter: { id: number; resolve: (r: PushReply) => void } | null = null;
  private pushId = 0;
  private batchSize: number;
  private pushStopped = false;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private httpAbort: AbortController | null = null;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly core: Core,
    private readonly api: HttpApi,
    private readonly tokens: TokenSource,
    private readonly options: EngineOptions,
  ) {
    this.backoff = new Backoff({ baseMs: options.reconnectBaseMs, capMs: options.reconnectCapMs });
    this.batchSize = options.maxBatch;
    this.mode = options.transport === 'http' || !options.webSocket ? 'http' : 'websocket';
    for (const [name, cfg] of Object.entries(core.collections)) {
      const scope: Scope = {};
      if (cfg.where) scope.where = cfg.where;
      if (cfg.params) scope.params = cfg.params;
      this.runtimes.set(name, {
        name,
        scope,
        wireId: null,
        phase: core.subs.get(name)?.cursor ? 'catching-up' : 'empty',
        staging: null,
        unsubscribing: false,
        resynced: false,
        error: null,
      });
    }
  }

  // Runs a background task; a failure is reported (unless the engine was stopped: a
  // closed database fails what was still running, which is expected).
  private background(task: Promise<unknown>): void {
    task.catch((e: unknown) => {
      if (this.stopped) return;
      if (isQuotaError(e)) this.storageFailed(e);
      else this.reportError('internal', `fieldsync: ${String(e)}`);
    });
  }

  start(): void {
    this.core.wake = () => this.pushWake?.();
    this.sweepTimer = setInterval(() => this.background(this.sweepAcked()), Math.max(500, Math.min(2000, this.options.ackGraceMs / 2)));
    if (typeof window !== 'undefined' && typeof document !== 'undefined') {
      // Hints only: a retry now instead of at the end of the backoff, a liveness ping.
      const online = () => this.hint();
      const visible = () => {
        if (document.visibilityState === 'visible') this.hint();
      };
      window.addEventListener('online', online);
      document.addEventListener('visibilitychange', visible);
      this.cleanups.push(() => window.removeEventListener('online', online));
      this.cleanups.push(() => document.removeEventListener('visibilitychange', visible));
    }
    this.background(this.refreshSchemas());
    this.background(this.connectLoop());
  }

  stop(): void {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const c of this.cleanups) c();
    this.session?.close(1000, 'client closed');
    this.httpAbort?.abort();
    this.sleeper?.wake();
    this.pushWake?.();
    this.tick();
  }

  // A reason to try now: the network is back, the app is visible again.
  hint(): void {
    if (this.session?.isOpen) this.session.ping();
    else this.sleeper?.wake();
  }

  private tick(): void {
    for (const t of [...this.ticks]) t();
  }

  private waitTick(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.ticks.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.ticks.add(done);
      signal?.addEventListener('abort', done);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleeper = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleeper = { timer, wake };
    });
  }

  private setConnection(c: 'offline' | 'connecting' | 'online' | 'http'): void {
    if (this.core.status.connection === c) return;
    this.core.status.connection = c;
    this.core.statusChanged();
  }

  private setPhase(rt: SubRuntime, phase: CollectionPhase): void {
    rt.phase = phase;
    const st = this.core.status.collections[rt.name];
    if (st) {
      st.phase = phase;
      st.error = rt.error;
      st.rows = this.core.replicas.get(rt.name)?.serverSize ?? 0;
      st.lastSyncedAt = this.core.subs.get(rt.name)?.syncedAt ?? null;
    }
    const synced = [...this.runtimes.values()].map((r) => this.core.subs.get(r.name)?.syncedAt ?? 0);
    this.core.status.lastSyncedAt = synced.length ? Math.min(...synced) || null : null;
    this.core.statusChanged();
    this.tick();
  }

  private reportError(code: string, message: string, collection?: string): void {
    const e = { code, message, ...(collection ? { collection } : {}) };
    this.core.status.lastError = e;
    this.core.events.emit('error', e);
    this.core.channel.post({ t: 'error', ...e });
    this.core.statusChanged();
  }

  private warn(code: 'reset' | 'digest_mismatch' | 'quota', message: string, collection?: string): void {
    const w = { code, message, ...(collection ? { collection } : {}) };
    this.core.events.emit('warning', w);
    this.core.channel.post({ t: 'warning', ...w });
  }

  private async refreshSchemas(): Promise<void> {
    try {
      for (const s of await this.api.collections()) {
        if (this.core.collections[s.name]) await this.core.saveSchema(s.name, s.primary_key);
      }
    } catch {
      // offline: the stored (or configured) keys serve
    }
  }

  // ---- connection management -------------------------------------------------------

  private async connectLoop(): Promise<void> {
    while (!this.stopped) {
      if (this.mode === 'http') {
        const began = Date.now();
        await this.runHttp();
        if (Date.now() - began < 1000) await this.sleep(1000); // nothing to poll: never spin
        if (this.stopped) break;
        if (this.options.transport === 'auto' && this.options.webSocket) this.mode = 'websocket';
        continue;
      }
      let token: string;
      try {
        this.setConnection('connecting');
        token = await this.tokens.get();
      } catch (e) {
        this.reportError('token_unavailable', `getToken() failed: ${String(e)}`);
        this.setConnection('offline');
        await this.sleep(this.backoff.next());
        continue;
      }
      const info = await this.runSocket(token);
      if (this.stopped) break;
      this.setConnection('offline');
      let delay = this.backoff.next();
      if (!info.opened) {
        this.wsFailures++;
        if (this.options.transport === 'auto' && this.wsFailures >= 2 && (await this.api.healthy())) {
          // The server answers HTTP but no WebSocket gets through (a proxy): long-polls.
          this.mode = 'http';
          continue;
        }
      } else {
        this.wsFailures = 0;
      }
      switch (info.code) {
        case 4001:
        case 4002:
          this.tokens.refused();
          break;
        case 4000:
          this.reportError('protocol_refused', `the server refused the session: ${info.reason}`);
          delay = Math.max(delay, 60_000);
          break;
        case 4008:
          delay = Math.min(delay, 500);
          break;
        default:
          break;
      }
      await this.sleep(delay);
    }
  }

  private runSocket(token: string): Promise<SessionClose> {
    return new Promise((resolve) => {
      const opened = Date.now();
      const session = new SocketSession(
        {
          url: this.options.wsUrl,
          token,
          clientId: this.core.clientId,
          pingIntervalMs: this.options.pingIntervalMs,
          pongTimeoutMs: this.options.pongTimeoutMs,
          webSocket: this.options.webSocket as typeof WebSocket,
        },
        {
          welcome: (s) => this.background(this.onWelcome(s)),
          messages: (s, messages) => {
            if (s !== this.session) return;
            this.inbox.push(...messages);
            this.background(this.drain());
          },
          closed: (s, info) => {
            if (s === this.session) this.session = null;
            for (const rt of this.runtimes.values()) {
              rt.wireId = null;
              rt.unsubscribing = false;
              if (rt.phase === 'live' || rt.phase === 'snapshot') this.setPhase(rt, this.core.subs.get(rt.name)?.cursor ? 'catching-up' : 'empty');
            }
            this.byWire.clear();
            this.pushWaiter?.resolve({ kind: 'lost' });
            this.pushWaiter = null;
            this.pushWake?.();
            if (info.welcomed && Date.now() - opened > 10_000) this.backoff.reset();
            resolve(info);
          },
        },
      );
      this.session = session;
    });
  }

  private async onWelcome(session: SocketSession): Promise<void> {
    this.setConnection('online');
    this.backoff.reset();
    // What the previous session delivered is applied before resuming from its cursors.
    await this.idle();
    if (session !== this.session) return;
    for (const rt of this.runtimes.values()) this.subscribe(rt);
    this.background(this.pushLoop(session));
  }

  private subscribe(rt: SubRuntime, fresh = false): void {
    const session = this.session;
    if (!session) return;
    let sub = this.core.subs.get(rt.name) as SubState;
    if (sub.staging !== null) {
      // An HTTP snapshot left unfinished: a WebSocket subscription does not continue it.
      const stale = sub.staging;
      sub = { ...sub, staging: null, token: null };
      this.core.subs.set(rt.name, sub);
      const clean = sub;
      this.background(
        transact(this.core.db, [stores.rows, stores.subs], 'readwrite', (tx) => {
          clearGeneration(tx, rt.name, stale);
          putSub(tx, clean);
        }),
      );
    }
    rt.wireId = `${rt.name}#${++wireCounter}`;
    rt.staging = null;
    rt.unsubscribing = false;
    this.byWire.set(rt.wireId, rt);
    const msg: Record<string, unknown> = { type: 'subscribe', id: rt.wireId, collection: rt.name };
    if (rt.scope.where) msg.where = rt.scope.where;
    if (rt.scope.where && rt.scope.params?.length) msg.params = rt.scope.params;
    if (sub.cursor && !fresh) msg.cursor = sub.cursor;
    this.setPhase(rt, msg.cursor ? 'catching-up' : 'snapshot');
    session.send(msg);
  }

  private idle(): Promise<void> {
    if (!this.draining && this.inbox.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!this.draining && this.inbox.length === 0) {
          this.ticks.delete(check);
          resolve();
        }
      };
      this.ticks.add(check);
    });
  }

  // ---- messages --------------------------------------------------------------------

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.inbox.length) {
        const first = this.inbox[0] as ServerMessage;
        if (first.type === 'change') {
          let n = 1;
          while (n < this.inbox.length && n < 2000 && this.inbox[n]?.type === 'change') n++;
          const run = this.inbox.splice(0, n) as Extract<ServerMessage, { type: 'change' }>[];
          await this.applyChanges(run.map((m) => ({ rt: this.byWire.get(m.id), m })));
        } else {
          this.inbox.shift();
          await this.handle(first);
        }
      }
    } catch (e) {
      this.inbox = [];
      this.storageFailed(e);
    } finally {
      this.draining = false;
      this.tick();
    }
  }

  // A write IndexedDB refused: an error event (a full disk is never a silent hang), and a
  // new session later that resumes from the cursors actually stored.
  private storageFailed(e: unknown): void {
    if (isQuotaError(e)) {
      this.reportError('quota_exceeded', 'the browser refused to store more data (storage quota exceeded); free space or request persistent storage');
      this.warn('quota', 'storage quota exceeded');
    } else {
      this.reportError('storage_failed', `IndexedDB: ${String(e)}`);
    }
    this.session?.close(4902, 'local storage failed');
  }

  private async handle(m: ServerMessage): Promise<void> {
    switch (m.type) {
      case 'snapshot': {
        const rt = this.byWire.get(m.id);
        if (!rt) return;
        if (!rt.staging) this.beginStaging(rt);
        const st = rt.staging as Staging;
        for (const r of m.rows) {
          const row: StoredRow = { v: r.version, r: r.row };
          st.rows.set(r.key, row);
          st.unflushed.push([r.key, row]);
        }
        if (m.last) await this.finishStaging(rt, m.cursor as string);
        else if (st.unflushed.length >= this.options.snapshotFlushRows) await this.flushStaging(rt);
        return;
      }
      case 'up-to-date': {
        const rt = this.byWire.get(m.id);
        if (!rt) return;
        const sub: SubState = { ...(this.core.subs.get(rt.name) as SubState), cursor: m.cursor, syncedAt: Date.now() };
        // Not waited for: the rows this cursor covers are stored already (the cursor before
        // it covers them too), and the next write of this collection's state is queued
        // after this one by IndexedDB. A failure is reported like any other.
        this.background(transact(this.core.db, stores.subs, 'readwrite', (tx) => putSub(tx, sub)));
        // Read the stored rows now: this read sees exactly the state at this cursor,
        // whatever is written after it.
        const held = this.options.stateCheck ? readGenerationNow(this.core.db, rt.name, sub.gen) : null;
        this.core.subs.set(rt.name, sub);
        this.setPhase(rt, 'live');
        if (held) this.background(this.stateCheck(rt, m.cursor, held));
        return;
      }
      case 'reset': {
        const rt = this.byWire.get(m.id);
        if (!rt) return;
        this.warn('reset', `${rt.name}: ${m.message ?? m.reason}: syncing it again from a snapshot (unsent edits are kept)`, rt.name);
        rt.staging = null;
        this.setPhase(rt, 'snapshot');
        return;
      }
      case 'unsubscribed': {
        const rt = this.byWire.get(m.id);
        this.byWire.delete(m.id);
        if (rt && rt.unsubscribing && rt.wireId === m.id) this.subscribe(rt, true);
        return;
      }
      case 'push_result':
        if (this.pushWaiter && m.id === this.pushWaiter.id) {
          this.pushWaiter.resolve({ kind: 'results', results: m.results });
          this.pushWaiter = null;
        }
        return;
      case 'error': {
        if (this.pushWaiter && m.id === this.pushWaiter.id) {
          this.pushWaiter.resolve({
            kind: 'error',
            code: m.code,
            message: m.message,
            ...(m.expected_mutation_id !== undefined ? { expected: m.expected_mutation_id } : {}),
            retryAfterMs: null,
          });
          this.pushWaiter = null;
          return;
        }
        const rt = typeof m.id === 'string' ? this.byWire.get(m.id) : undefined;
        if (rt) await this.subscriptionError(rt, m.code, m.message);
        return;
      }
      default:
        return;
    }
  }

  private async subscriptionError(rt: SubRuntime, code: string, message: string): Promise<void> {
    if (rt.wireId) this.byWire.delete(rt.wireId);
    rt.wireId = null;
    if (code === 'unavailable' || code === 'internal_error' || code === 'too_many_subscriptions') {
      // The subscription ended; the server is starting or its database is away.
      setTimeout(() => {
        if (this.session?.isWelcomed && !rt.wireId) this.subscribe(rt);
      }, 1000 + Math.random() * 2000);
      return;
    }
    if (code === 'bad_cursor') {
      this.subscribe(rt, true);
      return;
    }
    rt.error = `${code}: ${message}`;
    this.setPhase(rt, 'error');
    this.reportError(code, `${rt.name}: ${message}`, rt.name);
  }

  private beginStaging(rt: SubRuntime): void {
    const sub = this.core.subs.get(rt.name) as SubState;
    rt.staging = { gen: sub.gen + 1, rows: new Map(), unflushed: [], started: false, flushes: [] };
    this.setPhase(rt, 'snapshot');
  }

  // A part of a snapshot, in its own transaction, without waiting for it (the next
  // batches are read meanwhile); at most two in flight.
  private async flushStaging(rt: SubRuntime): Promise<void> {
    const st = rt.staging as Staging;
    const rows = st.unflushed;
    st.unflushed = [];
    const first = !st.started;
    st.started = true;
    const sub = { ...(this.core.subs.get(rt.name) as SubState), staging: st.gen, token: null };
    const p = transact(this.core.db, [stores.rows, stores.subs], 'readwrite', (tx) => {
      if (first) {
        clearGeneration(tx, rt.name, st.gen);
        putSub(tx, sub);
      }
      putRows(tx, rt.name, st.gen, rows);
    });
    st.flushes.push(p);
    if (first) this.core.subs.set(rt.name, sub);
    if (st.flushes.length > 2) await st.flushes.shift();
  }

  // The last part, the cursor and the switch to the new generation in one transaction,
  // created only after every earlier part committed: the stored cursor never covers rows
  // that are not stored.
  private async finishStaging(rt: SubRuntime, cursor: string): Promise<void> {
    const st = rt.staging as Staging;
    await Promise.all(st.flushes);
    const rows = st.unflushed;
    const first = !st.started;
    const sub: SubState = {
      ...(this.core.subs.get(rt.name) as SubState),
      gen: st.gen,
      cursor,
      staging: null,
      token: null,
    };
    await transact(this.core.db, [stores.rows, stores.subs], 'readwrite', (tx) => {
      if (first) clearGeneration(tx, rt.name, st.gen);
      putRows(tx, rt.name, st.gen, rows);
      putSub(tx, sub);
    });
    rt.staging = null;
    this.core.subs.set(rt.name, sub);
    this.core.replica(rt.name).replaceServer(st.rows);
    this.setPhase(rt, 'catching-up');
    this.core.channel.post({ t: 'reload', c: rt.name });
    // The old generation's rows go in the background (a start drops leftovers anyway).
    this.background(transact(this.core.db, stores.rows, 'readwrite', (tx) => clearOtherGenerations(tx, rt.name, st.gen)));
    await this.sweepAcked();
  }

  // A run of changes (of any subscriptions): the rows, each subscription's cursor after
  // its last change, the clock (the changes' origins' clocks received) and the outbox
  // entries they retire, in one transaction.
  private async applyChanges(run: { rt: SubRuntime | undefined; m: Extract<ServerMessage, { type: 'change' }> }[]): Promise<void> {
    const per = new Map<SubRuntime, { up: [Key, StoredRow][]; del: [Key, string][]; cursor: string }>();
    const seen: SeenChange[] = [];
    const clocks: string[] = [];
    for (const { rt, m } of run) {
      if (!rt || rt.staging) continue;
      let p = per.get(rt);
      if (!p) {
        p = { up: [], del: [], cursor: m.cursor };
        per.set(rt, p);
      }
      p.cursor = m.cursor;
      if (m.op === 'delete') p.del.push([m.key, m.version]);
      else p.up.push([m.key, { v: m.version, r: m.row }]);
      seen.push({ collection: rt.name, key: m.key, version: m.version, ...(m.origin ? { origin: m.origin } : {}) });
      if (m.origin?.client_ts) clocks.push(m.origin.client_ts);
    }
    if (per.size === 0) return;
    for (const [rt, p] of per) this.core.replica(rt.name).applyServer(p.up, p.del);
    const retire = retiredByChanges(this.core.outbox, seen, this.core.clientId);
    const subs: SubState[] = [];
    await transact(this.core.db, [stores.rows, stores.subs, stores.meta, stores.outbox], 'readwrite', async (tx) => {
      for (const [rt, p] of per) {
        const sub = { ...(this.core.subs.get(rt.name) as SubState), cursor: p.cursor };
        const live = rt.phase === 'live';
        if (live) sub.syncedAt = Date.now();
        putRows(tx, rt.name, sub.gen, p.up);
        for (const [k] of p.del) deleteRow(tx, rt.name, sub.gen, k);
        putSub(tx, sub);
        subs.push(sub);
      }
      for (const seq of retire) tx.objectStore(stores.outbox).delete(seq);
      if (clocks.length) {
        const meta = (await request(tx.objectStore(stores.meta).get(metaKey))) as ClientMeta | undefined;
        if (meta) {
          let clock = meta.clock;
          for (const text of clocks) {
            const remote = parseHlc(text);
            if (!remote) continue;
            try {
              clock = hlcReceive(clock, remote, Date.now());
            } catch {
              // a clock too far ahead is not taken (docs/merge.md, max_drift)
            }
          }
          tx.objectStore(stores.meta).put({ ...meta, clock }, metaKey);
        }
      }
    });
    for (const sub of subs) this.core.subs.set(sub.c, sub);
    for (const [rt, p] of per) {
      this.core.channel.post({ t: 'rows', c: rt.name, up: p.up, del: p.del });
      const st = this.core.status.collections[rt.name];
      if (st) {
        st.rows = this.core.replica(rt.name).serverSize;
        st.lastSyncedAt = this.core.subs.get(rt.name)?.syncedAt ?? st.lastSyncedAt;
      }
    }
    this.core.statusChanged();
    if (retire.length) {
      await this.core.reloadOutbox();
      this.core.channel.post({ t: 'outbox' });
    }
    this.tick();
  }

  // Acknowledged entries whose effect is visible, or that waited ackGraceMs.
  private async sweepAcked(): Promise<void> {
    const retire = retiredByState(
      this.core.outbox,
      (c, k) => this.core.replicas.get(c)?.serverRow(k)?.v,
      Date.now(),
      this.options.ackGraceMs,
    );
    if (!retire.length) return;
    await transact(this.core.db, stores.outbox, 'readwrite', (tx) => {
      for (const seq of retire) tx.objectStore(stores.outbox).delete(seq);
    });
    await this.core.reloadOutbox();
    this.core.channel.post({ t: 'outbox' });
  }

  // ---- the state check -------------------------------------------------------------

  private async stateCheck(rt: SubRuntime, cursor: string, held: Promise<[Key, StoredRow][]>): Promise<void> {
    const verdict = await checkState(this.api, rt.name, rt.scope, cursor, held);
    if (verdict.kind === 'match' || verdict.kind === 'skipped') return;
    if (verdict.kind === 'failed') {
      this.reportError('state_check_failed', `${rt.name}: ${verdict.message}`, rt.name);
      return;
    }
    const { local, server } = verdict;
    const what = `${rt.name}: the rows stored here (${local.rows}, digest ${local.digest}) differ from the server's at the same cursor (${server.rows}, ${server.digest})`;
    if (rt.resynced) {
      this.reportError('digest_mismatch', `${what}, again after a re-sync: not re-syncing again in this session`, rt.name);
      return;
    }
    rt.resynced = true;
    this.warn('digest_mismatch', `${what}: syncing it again`, rt.name);
    await this.resync(rt);
  }

  private async resync(rt: SubRuntime): Promise<void> {
    if (this.mode === 'http') {
      rt.staging = null;
      const sub = { ...(this.core.subs.get(rt.name) as SubState), cursor: null };
      this.core.subs.set(rt.name, { ...sub });
      this.httpResnapshot.add(rt.name);
      return;
    }
    if (!this.session?.isWelcomed || !rt.wireId) return;
    rt.unsubscribing = true;
    this.session.send({ type: 'unsubscribe', id: rt.wireId });
  }

  // ---- pushes ----------------------------------------------------------------------

  private pendingEntries(): OutboxEntry[] {
    return this.core.outbox.filter((e) => e.state === 'pending');
  }

  private waitPush(): Promise<void> {
    return new Promise((resolve) => {
      this.pushWake = () => {
        this.pushWake = null;
        resolve();
      };
    });
  }

  private async pushLoop(session: SocketSession | null): Promise<void> {
    const alive = () => !this.stopped && (session ? this.session === session && session.isWelcomed : this.mode === 'http' && !this.httpAbort?.signal.aborted);
    while (alive()) {
      const pending = this.pendingEntries();
      if (pending.length === 0 || this.pushStopped) {
        await this.waitPush();
        continue;
      }
      const batch = pending.slice(0, this.batchSize);
      const reply = session ? await this.pushOverSocket(session, batch) : await this.pushOverHttp(batch);
      if (reply.kind === 'lost') {
        // The connection went (or is closing): wait for the next one, never spin.
        if (session) await this.waitTick(250);
        else await this.waitTick(this.backoff.next() + 100);
        continue;
      }
      if (reply.kind === 'results') {
        this.batchSize = this.options.maxBatch;
        await this.applyResults(batch, reply.results);
        continue;
      }
      const plan = planBatchError(reply.code, reply.message, batch.length, reply.expected, reply.retryAfterMs);
      switch (plan.kind) {
        case 'renumber':
          await renumberFrom(this.core.db, plan.expected);
          await this.core.reloadOutbox();
          this.core.channel.post({ t: 'outbox' });
          break;
        case 'retry':
          await this.waitTick(plan.afterMs);
          break;
        case 'split':
          this.batchSize = Math.max(1, Math.floor(batch.length / 2));
          break;
        case 'drop-first': {
          const e = batch[0] as OutboxEntry;
          const conflict = await dropUnrecorded(
            this.core.db,
            e.seq,
            conflictOf(e, { mutation_id: e.mutationId, status: 'rejected', code: plan.code, message: plan.message }, Date.now()),
          );
          await this.core.reloadOutbox();
          this.publishOutcomes([{ seq: e.seq, outcome: { status: 'rejected', conflict } }], [conflict]);
          break;
        }
        case 'reauth':
          this.tokens.refused();
          session?.close(4002, 'token refused for a push');
          return;
        case 'stop':
          this.pushStopped = true;
          this.reportError(plan.code, `pushing edits stopped: ${plan.message}`);
          break;
      }
    }
  }

  private pushOverSocket(session: SocketSession, batch: OutboxEntry[]): Promise<PushReply> {
    return new Promise((resolve) => {
      const id = ++this.pushId;
      this.pushWaiter = { id, resolve };
      const sent = session.send({ type: 'push', id, client_id: this.core.clientId, mutations: batch.map(toWire) });
      if (!sent) {
        this.pushWaiter = null;
        resolve({ kind: 'lost' });
      }
    });
  }

  private async pushOverHttp(batch: OutboxEntry[]): Promise<PushReply> {
    try {
      const results = await this.api.push({ client_id: this.core.clientId, mutations: batch.map(toWire) });
      return { kind: 'results', results };
    } catch (e) {
      if (e instanceof HttpError && e.status !== 502 && e.status !== 504) {
        const expected = expectedMutationId(e);
        return { kind: 'error', code: e.code, message: e.message, ...(expected !== undefined ? { expected } : {}), retryAfterMs: e.retryAfterMs };
      }
      return { kind: 'lost' }; // the network, or a proxy's 502/504: keep and back off
    }
  }

  private async applyResults(batch: OutboxEntry[], results: MutationResult[]): Promise<void> {
    const now = Date.now();
    const { update, outcomes } = planPushReply(batch, results, now);
    // A write that changed nothing, or whose change already arrived: retired at once.
    const acked = batch
      .map((e): OutboxEntry | null => {
        const a = update.acks.find((x) => x.seq === e.seq);
        return a ? { ...e, state: 'acked', ack: a.ack } : null;
      })
      .filter((e): e is OutboxEntry => e !== null);
    const now2 = retiredByState(acked, (c, k) => this.core.replicas.get(c)?.serverRow(k)?.v, now, this.options.ackGraceMs);
    update.retire.push(...now2);
    update.acks = update.acks.filter((a) => !now2.includes(a.seq));
    const conflicts = await applyOutboxUpdate(this.core.db, update);
    await this.core.reloadOutbox();
    const items = outcomes.map((o) => ({ seq: o.seq, outcome: this.outcomeOf(o, conflicts) }));
    this.publishOutcomes(items, conflicts);
  }

  private outcomeOf(o: PlannedOutcome, conflicts: Conflict[]): MutationOutcome {
    const r = o.result;
    if (r.status === 'rejected') {
      const c = conflicts.find((x) => x.mutationId === r.mutation_id);
      if (c) return { status: 'rejected', conflict: c };
    }
    if (r.status === 'merged') return { status: 'merged', version: r.version ?? null, row: r.row ?? null };
    return { status: 'applied', version: r.version ?? null };
  }

  private publishOutcomes(items: { seq: number; outcome: MutationOutcome }[], conflicts: Conflict[]): void {
    this.core.deliverOutcomes(items);
    if (conflicts.length) this.core.addConflicts(conflicts);
    this.core.channel.post({ t: 'outbox' });
    this.core.channel.post({ t: 'outcomes', items });
    if (conflicts.length) this.core.channel.post({ t: 'conflicts', items: conflicts });
    this.tick();
  }

  // ---- HTTP fallback ---------------------------------------------------------------

  private readonly httpResnapshot = new Set<string>();

  private async runHttp(): Promise<void> {
    this.setConnection('http');
    const abort = new AbortController();
    this.httpAbort = abort;
    const until = this.options.transport === 'http' ? Infinity : Date.now() + this.options.httpRetryWebSocketMs;
    const loops = [...this.runtimes.values()].map((rt) => this.httpSubscription(rt, abort.signal));
    this.background(this.pushLoop(null));
    const timer = until === Infinity ? null : setTimeout(() => abort.abort(), this.options.httpRetryWebSocketMs);
    await Promise.all(loops);
    if (timer) clearTimeout(timer);
    abort.abort();
    this.pushWake?.();
    this.httpAbort = null;
    for (const rt of this.runtimes.values()) if (rt.phase === 'live') this.setPhase(rt, 'catching-up');
  }

  private async httpSubscription(rt: SubRuntime, signal: AbortSignal): Promise<void> {
    let checked = false;
    const backoff = new Backoff({ baseMs: this.options.reconnectBaseMs, capMs: this.options.reconnectCapMs });
    while (!signal.aborted && !this.stopped) {
      try {
        let sub = this.core.subs.get(rt.name) as SubState;
        if (this.httpResnapshot.delete(rt.name)) {
          sub = { ...sub, cursor: null, staging: null, token: null };
          this.core.subs.set(rt.name, sub);
        }
        if (sub.cursor === null || sub.staging !== null) {
          await this.httpSnapshotPage(rt, sub, signal);
        } else {
          const page = await this.api.changes(rt.name, sub.cursor, rt.scope, { live: rt.phase === 'live', limit: 1000 }, signal);
          await this.applyPage(rt, page);
          if (!page.has_more && rt.phase !== 'live') {
            this.setPhase(rt, 'live');
            if (this.options.stateCheck && !checked) {
              checked = true;
              const cur = this.core.subs.get(rt.name) as SubState;
              this.background(this.stateCheck(rt, cur.cursor as string, readGenerationNow(this.core.db, rt.name, cur.gen)));
            }
          }
        }
        backoff.reset();
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof HttpError && e.status === 409) {
          this.warn('reset', `${rt.name}: ${e.message}: syncing it again from a snapshot (unsent edits are kept)`, rt.name);
          this.httpResnapshot.add(rt.name);
          continue;
        }
        if (e instanceof HttpError && e.status >= 400 && e.status < 500 && e.status !== 429) {
          rt.error = `${e.code}: ${e.message}`;
          this.setPhase(rt, 'error');
          this.reportError(e.code, `${rt.name}: ${e.message}`, rt.name);
          return;
        }
        if (isQuotaError(e)) this.storageFailed(e);
        const wait = e instanceof HttpError && e.retryAfterMs !== null ? e.retryAfterMs : backoff.next();
        await this.waitTick(wait, signal);
      }
    }
  }

  // One page of a snapshot over HTTP: its rows and the token to continue from (or, on the
  // last page, the log cursor and the switch to the new generation) in one transaction,
  // so a snapshot interrupted by a reload resumes at the page after the last stored one.
  private async httpSnapshotPage(rt: SubRuntime, sub: SubState, signal: AbortSignal): Promise<void> {
    const resuming = sub.staging !== null && sub.token !== null;
    const gen = resuming ? (sub.staging as number) : sub.gen + 1;
    this.setPhase(rt, 'snapshot');
    const page = await this.api.changes(rt.name, resuming ? sub.token : null, rt.scope, { limit: this.options.snapshotFlushRows }, signal);
    const rows: [Key, StoredRow][] = page.changes
      .filter((c) => c.op === 'upsert' && c.row)
      .map((c) => [c.key, { v: c.version, r: c.row as Row }]);
    const next: SubState = page.has_more
      ? { ...sub, staging: gen, token: page.cursor }
      : { ...sub, gen, cursor: page.cursor, staging: null, token: null };
    await transact(this.core.db, [stores.rows, stores.subs], 'readwrite', (tx) => {
      if (!resuming) clearGeneration(tx, rt.name, gen);
      putRows(tx, rt.name, gen, rows);
      putSub(tx, next);
    });
    this.core.subs.set(rt.name, next);
    if (!page.has_more) {
      this.core.replica(rt.name).replaceServer(await loadRows(this.core.db, rt.name, gen));
      await transact(this.core.db, stores.rows, 'readwrite', (tx) => clearOtherGenerations(tx, rt.name, gen));
      this.core.channel.post({ t: 'reload', c: rt.name });
      this.setPhase(rt, 'catching-up');
    }
  }

  private async applyPage(rt: SubRuntime, page: PullPage): Promise<void> {
    const msgs = page.changes.map((c) => ({
      rt,
      m: {
        type: 'change' as const,
        id: rt.wireId ?? rt.name,
        op: c.op === 'delete' ? ('delete' as const) : ('update' as const),
        collection: rt.name,
        key: c.key,
        row: (c.row ?? {}) as Row,
        version: c.version,
        cursor: page.cursor,
      },
    }));
    if (msgs.length) await this.applyChanges(msgs);
    else {
      const sub = { ...(this.core.subs.get(rt.name) as SubState), cursor: page.cursor, syncedAt: Date.now() };
      await transact(this.core.db, stores.subs, 'readwrite', (tx) => putSub(tx, sub));
      this.core.subs.set(rt.name, sub);
    }
  }

  // ---- synced() --------------------------------------------------------------------

  // Resolves when every collection has caught up with what the server had logged when
  // this was called (a delta pull from the collection's cursor finds nothing), and every
  // edit pending at the call was answered.
  // Whether the server logged nothing for this subscription's scope after `cursor`. A
  // page can be empty and still have more: the server fills a page by the log's keys
  // before it drops those outside the filter (other reps' KPI rows, say), so empty pages
  // are followed to the end; the first change found means there is something to receive.
  private async nothingAfter(rt: SubRuntime, cursor: string, signal?: AbortSignal): Promise<boolean> {
    let at = cursor;
    for (;;) {
      const page = await this.api.changes(rt.name, at, rt.scope, { limit: 100 }, signal);
      if (page.changes.length > 0) return false;
      if (!page.has_more) return true;
      at = page.cursor;
    }
  }

  async synced(signal?: AbortSignal): Promise<void> {
    const marked = new Set(this.pendingEntries().map((e) => e.seq));
    const aborted = () => {
      if (signal?.aborted) throw new DOMException('synced() was aborted', 'AbortError');
    };
    for (const rt of this.runtimes.values()) {
      for (;;) {
        aborted();
        if (this.stopped) throw new Error('fieldsync: the client was closed');
        if (rt.phase === 'error') throw new Error(`fieldsync: ${rt.name}: ${rt.error}`);
        const sub = this.core.subs.get(rt.name) as SubState;
        if (rt.phase === 'live' && sub.cursor) {
          try {
            if (await this.nothingAfter(rt, sub.cursor, signal)) break;
          } catch (e) {
            if (signal?.aborted) aborted();
            if (!(e instanceof HttpError) || e.status >= 500) {
              await this.waitTick(1000, signal);
              continue;
            }
            if (e.status !== 409) throw e;
          }
        }
        await this.waitTick(500, signal);
      }
    }
    while (this.core.outbox.some((e) => marked.has(e.seq) && e.state === 'pending')) {
      aborted();
      if (this.stopped) throw new Error('fieldsync: the client was closed');
      await this.waitTick(1000, signal);
    }
  }
}
