// A sorted index of one text column's lower-cased values, for prefix searches over large
// collections (search as you type): a prefix is a range of it, found by binary search, so
// a query reads the rows that match instead of scanning every row. Built on the first
// prefix query of a column, then kept up to date key by key as rows change.
import type { Key, Row } from './types.js';

interface Entry {
  low: string;
  key: Key;
  row: Row | null; // null only in search probes
}

export class PrefixIndex {
  private entries: Entry[] = [];
  private byKey = new Map<Key, string>();

  constructor(readonly column: string, rows: Iterable<[Key, Row]>) {
    for (const [key, row] of rows) {
      const v = row[column];
      if (typeof v !== 'string') continue;
      const low = v.toLowerCase();
      this.entries.push({ low, key, row });
      this.byKey.set(key, low);
    }
    this.entries.sort(compareEntries);
  }

  // The row `key` now holds `row` (undefined: gone).
  update(key: Key, row: Row | undefined): void {
    const old = this.byKey.get(key);
    if (old !== undefined) {
      const i = this.find({ low: old, key, row: null });
      if (i < this.entries.length && this.entries[i]?.key === key) this.entries.splice(i, 1);
      this.byKey.delete(key);
    }
    const v = row?.[this.column];
    if (typeof v !== 'string') return;
    const e = { low: v.toLowerCase(), key, row: row as Row };
    this.entries.splice(this.find(e), 0, e);
    this.byKey.set(key, e.low);
  }

  get size(): number {
    return this.entries.length;
  }

  // The rows whose lower-cased value starts with `lowerPrefix`, in index order; null when
  // there are more than `max` of them (a scan in storage order is then faster than
  // visiting them in index order).
  rowsWithPrefix(lowerPrefix: string, max: number): Row[] | null {
    const from = this.find({ low: lowerPrefix, key: '', row: null });
    const out: Row[] = [];
    for (let i = from; i < this.entries.length; i++) {
      const e = this.entries[i] as Entry;
      if (!e.low.startsWith(lowerPrefix)) break;
      if (out.length === max) return null;
      out.push(e.row as Row);
    }
    return out;
  }

  private find(e: Entry): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareEntries(this.entries[mid] as Entry, e) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function compareEntries(a: Entry, b: Entry): number {
  return a.low < b.low ? -1 : a.low > b.low ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
