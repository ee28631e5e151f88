// One collection in memory: the server's rows (as stored), the outbox entries on its keys,
// and the optimistic view made of both (overlay.ts). Queries read the view; the sync
// engine and the outbox write here after their IndexedDB transactions have committed.
// Listeners get the keys that changed, or null when everything may have (a re-snapshot).
import { compareLsn } from './lsn.js';
import type { OutboxEntry } from './outbox.js';
import { replay } from './overlay.js';
import { PrefixIndex } from './prefix_index.js';
import type { StoredRow } from './store.js';
import type { Key, Row } from './types.js';

export type ChangeListener = (keys: ReadonlySet<Key> | null) => void;

export class Replica {
  private server = new Map<Key, StoredRow>();
  private entries = new Map<Key, OutboxEntry[]>();
  private overlaid = new Map<Key, Row | undefined>();
  private readonly listeners = new Set<ChangeListener>();
  private rowCache: Row[] | null = null;
  private readonly indexes = new Map<string, PrefixIndex>();

  constructor(readonly name: string) {}

  get(key: Key): Row | undefined {
    return this.overlaid.has(key) ? this.overlaid.get(key) : this.server.get(key)?.r;
  }

  serverRow(key: Key): StoredRow | undefined {
    return this.server.get(key);
  }

  get serverSize(): number {
    return this.server.size;
  }

  // Every row of the view, as one array (cached until the next change), with its keys.
  rows(): Row[] {
    if (this.rowCache) return this.rowCache;
    const out: Row[] = [];
    for (const [k, s] of this.server) if (!this.overlaid.has(k)) out.push(s.r);
    for (const row of this.overlaid.values()) if (row) out.push(row);
    this.rowCache = out;
    return out;
  }

  forEachKeyed(fn: (key: Key, row: Row) => void): void {
    for (const [k, s] of this.server) if (!this.overlaid.has(k)) fn(k, s.r);
    for (const [k, row] of this.overlaid) if (row) fn(k, row);
  }

  // The prefix index of a text column of the view (made on first use).
  prefixIndex(column: string): PrefixIndex {
    let index = this.indexes.get(column);
    if (!index) {
      const rows: [Key, Row][] = [];
      this.forEachKeyed((k, row) => rows.push([k, row]));
      index = new PrefixIndex(column, rows);
      this.indexes.set(column, index);
    }
    return index;
  }

  get size(): number {
    return this.rowCache ? this.rowCache.length : this.server.size;
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // A whole new set of server rows (a snapshot switched in, a reload from storage).
  replaceServer(rows: Map<Key, StoredRow>): void {
    for (const s of rows.values()) Object.freeze(s.r);
    this.server = rows;
    this.recomputeAll();
    this.notify(null);
  }

  // Changes to server rows. With `onlyNewer`, a change older than the row held is skipped
  // (a tab's broadcast that raced its own reload from storage).
  applyServer(upserts: readonly [Key, StoredRow][], deletes: readonly [Key, string][], onlyNewer = false): void {
    const changed = new Set<Key>();
    for (const [k, s] of upserts) {
      if (onlyNewer && compareLsn(this.server.get(k)?.v, s.v) > 0) continue;
      Object.freeze(s.r);
      this.server.set(k, s);
      changed.add(k);
    }
    for (const [k, version] of deletes) {
      const held = this.server.get(k);
      if (!held) continue;
      if (onlyNewer && compareLsn(held.v, version) > 0) continue;
      this.server.delete(k);
      changed.add(k);
    }
    for (const k of changed) if (this.entries.has(k)) this.recompute(k);
    if (changed.size) this.notify(changed);
  }

  // The outbox entries of this collection (all of them, in local order).
  setEntries(all: readonly OutboxEntry[]): void {
    const next = new Map<Key, OutboxEntry[]>();
    for (const e of all) {
      const list = next.get(e.key);
      if (list) list.push(e);
      else next.set(e.key, [e]);
    }
    const changed = new Set<Key>();
    for (const k of this.entries.keys()) if (!next.has(k)) changed.add(k);
    for (const [k, list] of next) {
      const old = this.entries.get(k);
      if (!old || old.length !== list.length || old.some((e, i) => !sameEntry(e, list[i]))) changed.add(k);
    }
    this.entries = next;
    for (const k of changed) this.recompute(k);
    if (changed.size) this.notify(changed);
  }

  entriesOf(key: Key): readonly OutboxEntry[] {
    return this.entries.get(key) ?? [];
  }

  private recompute(key: Key): void {
    const list = this.entries.get(key);
    if (!list || list.length === 0) {
      this.overlaid.delete(key);
      return;
    }
    const row = replay(this.server.get(key)?.r, list);
    this.overlaid.set(key, row ? Object.freeze(row) : undefined);
  }

  private recomputeAll(): void {
    this.overlaid.clear();
    for (const k of this.entries.keys()) this.recompute(k);
  }

  private notify(keys: ReadonlySet<Key> | null): void {
    this.rowCache = null;
    if (keys === null) this.indexes.clear();
    else {
      for (const index of this.indexes.values()) for (const k of keys) index.update(k, this.get(k));
    }
    for (const l of [...this.listeners]) {
      try {
        l(keys);
      } catch (e) {
        console.error('fieldsync: a change listener threw', e);
      }
    }
  }
}

function sameEntry(a: OutboxEntry, b: OutboxEntry | undefined): boolean {
  return !!b && a.seq === b.seq && a.state === b.state && a.mutationId === b.mutationId && a.ack?.status === b.ack?.status && a.ack?.row === b.ack?.row;
}
