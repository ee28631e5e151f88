// flushOutbox(): sends a client's pending edits once, over HTTP, without loading its rows
// or opening a WebSocket. For a service worker's Background Sync event (the page that
// made the edits was closed before it could send them) and for any other headless
// context; a running client pushes by itself and never needs it.
//
// It needs the client's leader lock: when a tab of the app is open, that tab's client is the
// leader and pushes. By default it gives up at once then (`skipped: 'leader'`); with
// `waitForLeaderMs` it waits that long for the lock, which is what a Background Sync
// event wants: a page registers the sync as it closes, while it still holds the lock, and
// the lock is free a moment later (if the tab stays open instead, it has sent the edits
// itself by the time the lock comes, and nothing is left to send). Under
// the lock it does what the leader's push loop does over HTTP, with the same decisions
// (push_results.ts): acknowledgements and conflicts in one transaction per answer,
// renumbering after a gap, halving a batch the server finds too large, dropping a single
// entry it refuses. The acknowledged entries stay in the outbox until the client next runs
// and sees their changes arrive (retire.ts), as after any push.
//
// A failure that a later attempt may not meet (the network, 5xx, 503 row_locked) rejects,
// so a Background Sync event is retried by the browser; a refusal no retry can fix
// (client_not_yours, forbidden) resolves with `stopped`.
import { databaseName, openDatabase } from './db.js';
import { expectedMutationId, HttpApi, HttpError } from './http_api.js';
import { applyOutboxUpdate, dropUnrecorded, loadOutbox, readClientMeta, renumberFrom, toWire, type OutboxEntry } from './outbox.js';
import { conflictOf, planBatchError, planPushReply } from './push_results.js';
import { TokenSource, type GetToken } from './tokens.js';

export interface FlushOptions {
  // The server's base URL (default: the origin of the page or worker).
  url?: string;
  // The client's name (createClient's `name`, default "default").
  name?: string;
  getToken: GetToken;
  maxBatch?: number;
  indexedDB?: IDBFactory;
  fetch?: typeof fetch;
  // The Web Locks API (default: navigator.locks; null: no locking, for tests).
  locks?: LockManager | null;
  // How long to wait for an open tab to release the leader lock (default 0: not at all).
  waitForLeaderMs?: number;
}

export interface FlushResult {
  // 'leader': an open tab leads and pushes; 'empty': nothing pending (or no database).
  skipped?: 'leader' | 'empty';
  sent: number;
  applied: number;
  rejected: number;
  remaining: number;
  stopped?: { code: string; message: string };
}

export async function flushOutbox(options: FlushOptions): Promise<FlushResult> {
  const name = options.name ?? 'default';
  // navigator is a WorkerNavigator in a service worker: read it without the DOM's type.
  const nav = (globalThis as { navigator?: { locks?: LockManager } }).navigator;
  const locks = options.locks === undefined ? (nav?.locks ?? null) : options.locks;
  if (!locks) return flushUnlocked(options, name);
  const lockName = `fieldsync:${name}:leader`;
  const skipped: FlushResult = { skipped: 'leader', sent: 0, applied: 0, rejected: 0, remaining: 0 };
  const wait = options.waitForLeaderMs ?? 0;
  if (wait <= 0) {
    return locks.request(lockName, { mode: 'exclusive', ifAvailable: true }, async (lock) => (lock ? flushUnlocked(options, name) : skipped));
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), wait);
  try {
    return await locks.request(lockName, { mode: 'exclusive', signal: abort.signal }, async () => {
      clearTimeout(timer);
      return flushUnlocked(options, name);
    });
  } catch (e) {
    if (abort.signal.aborted && (e as { name?: string } | null)?.name === 'AbortError') return skipped;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function databaseExists(factory: IDBFactory, name: string): Promise<boolean> {
  const list = (factory as IDBFactory & { databases?: () => Promise<{ name?: string }[]> }).databases;
  if (!list) return true; // cannot tell: opening creates an empty one, which holds nothing
  return (await list.call(factory)).some((d) => d.name === databaseName(name));
}

async function flushUnlocked(options: FlushOptions, name: string): Promise<FlushResult> {
  const factory = options.indexedDB ?? (typeof indexedDB !== 'undefined' ? indexedDB : undefined);
  if (!factory) throw new Error('fieldsync: no IndexedDB in this environment');
  const result: FlushResult = { sent: 0, applied: 0, rejected: 0, remaining: 0 };
  if (!(await databaseExists(factory, name))) return { ...result, skipped: 'empty' };
  const base = (options.url ?? (typeof location !== 'undefined' ? location.origin : '')).replace(/\/$/, '');
  const fetchImpl = options.fetch ?? fetch.bind(globalThis);
  const api = new HttpApi(base, new TokenSource(options.getToken), fetchImpl);
  const maxBatch = options.maxBatch ?? 500;
  const db = await openDatabase(factory, name);
  try {
    const meta = await readClientMeta(db);
    if (!meta) return { ...result, skipped: 'empty' };
    let size = maxBatch;
    let pushedAny = false;
    for (;;) {
      const pending = (await loadOutbox(db)).filter((e) => e.state === 'pending').sort((a, b) => a.seq - b.seq);
      result.remaining = pending.length;
      if (pending.length === 0) {
        if (!pushedAny) result.skipped = 'empty';
        return result;
      }
      const batch = pending.slice(0, size);
      let answers;
      try {
        answers = await api.push({ client_id: meta.clientId, mutations: batch.map(toWire) });
      } catch (e) {
        if (!(e instanceof HttpError)) throw e; // the network: the browser retries the sync
        const plan = planBatchError(e.code, e.message, batch.length, expectedMutationId(e), e.retryAfterMs);
        switch (plan.kind) {
          case 'renumber':
            await renumberFrom(db, plan.expected);
            continue;
          case 'split':
            size = Math.max(1, Math.floor(batch.length / 2));
            continue;
          case 'drop-first': {
            const first = batch[0] as OutboxEntry;
            await dropUnrecorded(db, first.seq, conflictOf(first, { mutation_id: first.mutationId, status: 'rejected', code: plan.code, message: plan.message }, Date.now()));
            result.rejected++;
            continue;
          }
          case 'stop':
            result.stopped = { code: plan.code, message: plan.message };
            return result;
          case 'retry':
          case 'reauth':
          default:
            throw e;
        }
      }
      pushedAny = true;
      result.sent += batch.length;
      const { update } = planPushReply(batch, answers, Date.now());
      await applyOutboxUpdate(db, update);
      result.applied += update.acks.length;
      result.rejected += update.conflicts.length;
      if (update.acks.length + update.retire.length === 0) {
        throw new Error('fieldsync: the server answered none of the edits sent');
      }
      size = maxBatch;
    }
  } finally {
    db.close();
    // Open tabs (none leads, or the lock would not have been free) re-read the outbox.
    if (typeof BroadcastChannel !== 'undefined') {
      const ch = new BroadcastChannel(`fieldsync:${name}`);
      ch.postMessage({ t: 'outbox' });
      ch.close();
    }
  }
}
