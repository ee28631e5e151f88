// Tabs of one app share one database. One of them, the leader, holds the WebSocket and
// the push loop: it holds the Web Lock "fieldsync:<name>:leader" for as long as it lives,
// and the browser hands the lock to a waiting tab the moment the leader's tab closes or
// crashes. The others follow through a BroadcastChannel: the leader tells them about the
// rows it stored, the outbox's changes, outcomes and its status; any tab writes its edits
// straight into the shared outbox (offline too) and tells the leader to push.
import type { StoredRow } from './store.js';
import type { Conflict, MutationOutcome, SyncStatus } from './types.js';

export type TabMessage =
  | { t: 'rows'; c: string; up: [string, StoredRow][]; del: [string, string][] }
  | { t: 'reload'; c: string }
  | { t: 'outbox' }
  | { t: 'outcomes'; items: { seq: number; outcome: MutationOutcome }[] }
  | { t: 'conflicts'; items: Conflict[] }
  | { t: 'dismissed'; ids: number[] }
  | { t: 'status'; status: SyncStatus }
  | { t: 'hello' }
  | { t: 'synced?'; id: string }
  | { t: 'synced!'; id: string; ok: boolean; error?: string }
  | { t: 'warning'; code: string; message: string; collection?: string }
  | { t: 'error'; code: string; message: string; collection?: string };

export interface TabChannel {
  post(message: TabMessage): void;
  onMessage(handler: (message: TabMessage) => void): void;
  close(): void;
}

export function openTabChannel(name: string): TabChannel {
  if (typeof BroadcastChannel === 'undefined') {
    return { post() {}, onMessage() {}, close() {} };
  }
  const channel = new BroadcastChannel(`fieldsync:${name}`);
  return {
    post: (m) => channel.postMessage(m),
    onMessage: (h) => {
      channel.onmessage = (ev: MessageEvent) => h(ev.data as TabMessage);
    },
    close: () => channel.close(),
  };
}

// Calls `lead` once this tab holds the leader lock; the lock is released when `released`
// resolves (the client closes). Without the Web Locks API every tab leads (one tab's app:
// tests, old browsers).
export function electLeader(name: string, lead: () => void, released: Promise<void>): void {
  const locks = typeof navigator !== 'undefined' ? (navigator as Navigator & { locks?: LockManager }).locks : undefined;
  if (!locks) {
    lead();
    return;
  }
  void locks
    .request(`fieldsync:${name}:leader`, { mode: 'exclusive' }, async () => {
      lead();
      await released;
    })
    .catch((e: unknown) => console.error('fieldsync: leader lock', e));
}
