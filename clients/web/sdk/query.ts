// Local queries over a collection's optimistic view: one-shot (find) and live (LiveQuery,
// one observer object per query, cheap to create and to drop, as TanStack Query's
// observers are). A live query keeps its matches sorted and updates them by the keys that
// changed, so a change costs the queries it concerns a few comparisons, not a new scan.
import type { Replica } from './replica.js';
import type { Key, Row, Value } from './types.js';

export interface FieldCondition {
  eq?: Value;
  ne?: Value;
  gt?: Value;
  gte?: Value;
  lt?: Value;
  lte?: Value;
  in?: readonly Value[];
  // Case-insensitive prefix of a text column: search as you type.
  prefix?: string;
  // Case-insensitive substring of a text column.
  contains?: string;
  isNull?: boolean;
}

export type Where = ((row: Row) => boolean) | { readonly [column: string]: Value | FieldCondition };
export type SortKey = string | { by: string; desc?: boolean };
export type Sort = SortKey | readonly SortKey[] | ((a: Row, b: Row) => number);

export interface QueryOptions {
  limit?: number;
}

const operators = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'prefix', 'contains', 'isNull']);

function isCondition(v: unknown): v is FieldCondition {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => operators.has(k));
}

// Values order: numbers numerically, everything else by its text (code units); null and
// missing last. Numbers held as strings (int8, numeric) compare numerically with numbers.
export function compareValues(a: Value | undefined, b: Value | undefined): number {
  const an = a === null || a === undefined;
  const bn = b === null || b === undefined;
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number' || typeof b === 'number') {
    const x = Number(a);
    const y = Number(b);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  const s = typeof a === 'string' ? a : JSON.stringify(a);
  const t = typeof b === 'string' ? b : JSON.stringify(b);
  return s < t ? -1 : s > t ? 1 : 0;
}

function equal(a: Value | undefined, b: Value | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return compareValues(a, b) === 0 && typeof a === typeof b;
}

// Without allocating for ASCII text (the common case of a scan over 100k rows); other
// characters take toLowerCase's way.
// `s.toLowerCase().startsWith(lowerPrefix)`, without allocating for ASCII text (the
// common case of a scan over 100k rows).
function startsWithIgnoreCase(s: string, lowerPrefix: string): boolean {
  const n = lowerPrefix.length;
  for (let i = 0; i < n; i++) {
    if (i >= s.length) return false;
    let c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    else if (c >= 128) return s.toLowerCase().startsWith(lowerPrefix);
    if (c !== lowerPrefix.charCodeAt(i)) return false;
  }
  return true;
}

// Collections at least this big answer a prefix condition from the column's index.
const indexFrom = 5000;

// The rows a query has to look at: with a prefix condition on a big collection, the
// index's range for it; else every row. The full filter still runs on each of them.
function candidates(replica: Replica, where: Where | undefined): readonly Row[] {
  if (where && typeof where !== 'function' && replica.size >= indexFrom) {
    for (const [column, spec] of Object.entries(where)) {
      if (isCondition(spec) && typeof spec.prefix === 'string' && spec.prefix.length > 0) {
        const index = replica.prefixIndex(column);
        const range = index.rowsWithPrefix(spec.prefix.toLowerCase(), Math.max(500, index.size >> 4));
        if (range) return range;
        break;
      }
    }
  }
  return replica.rows();
}

export function compileWhere(where: Where | undefined): (row: Row) => boolean {
  if (!where) return () => true;
  if (typeof where === 'function') return where;
  const tests: ((row: Row) => boolean)[] = [];
  for (const [column, spec] of Object.entries(where)) {
    if (!isCondition(spec)) {
      tests.push((row) => equal(row[column], spec));
      continue;
    }
    const c = spec;
    if ('eq' in c) tests.push((row) => equal(row[column], c.eq));
    if ('ne' in c) tests.push((row) => !equal(row[column], c.ne));
    if (c.gt !== undefined) tests.push((row) => row[column] != null && compareValues(row[column], c.gt) > 0);
    if (c.gte !== undefined) tests.push((row) => row[column] != null && compareValues(row[column], c.gte) >= 0);
    if (c.lt !== undefined) tests.push((row) => row[column] != null && compareValues(row[column], c.lt) < 0);
    if (c.lte !== undefined) tests.push((row) => row[column] != null && compareValues(row[column], c.lte) <= 0);
    if (c.in) {
      const set = c.in;
      tests.push((row) => set.some((v) => equal(row[column], v)));
    }
    if (c.prefix !== undefined) {
      const p = c.prefix.toLowerCase();
      tests.push((row) => {
        const v = row[column];
        return typeof v === 'string' && startsWithIgnoreCase(v, p);
      });
    }
    if (c.contains !== undefined) {
      const p = c.contains.toLowerCase();
      tests.push((row) => {
        const v = row[column];
        return typeof v === 'string' && v.toLowerCase().includes(p);
      });
    }
    if (c.isNull !== undefined) {
      const want = c.isNull;
      tests.push((row) => (row[column] === null || row[column] === undefined) === want);
    }
  }
  if (tests.length === 1) return tests[0] as (row: Row) => boolean;
  return (row) => {
    for (const t of tests) if (!t(row)) return false;
    return true;
  };
}

export function compileSort(sort: Sort | undefined): ((a: Row, b: Row) => number) | null {
  if (!sort) return null;
  if (typeof sort === 'function') return sort;
  const keys = (Array.isArray(sort) ? sort : [sort]) as SortKey[];
  const specs = keys.map((k) => (typeof k === 'string' ? { by: k, desc: false } : { by: k.by, desc: !!k.desc }));
  return (a, b) => {
    for (const s of specs) {
      const c = compareValues(a[s.by], b[s.by]);
      if (c !== 0) return s.desc ? -c : c;
    }
    return 0;
  };
}

interface Match {
  key: Key;
  row: Row;
}

// One-shot: the matching rows of the view, sorted, at most `limit`.
export function runQuery(replica: Replica, where?: Where, sort?: Sort, options: QueryOptions = {}): Row[] {
  const test = compileWhere(where);
  const cmp = compileSort(sort);
  const limit = options.limit;
  const rows = candidates(replica, where);
  if (cmp && limit !== undefined && limit >= 0) return topK(rows, test, cmp, limit);
  const out: Row[] = [];
  for (const row of rows) if (test(row)) out.push(row);
  if (cmp) out.sort(cmp);
  return limit !== undefined ? out.slice(0, limit) : out;
}

// The first `k` matches in sort order without sorting every match: a bounded sorted
// buffer, where most rows lose one comparison with its last element. Ties keep scan order.
function topK(rows: readonly Row[], test: (row: Row) => boolean, cmp: (a: Row, b: Row) => number, k: number): Row[] {
  const out: Row[] = [];
  if (k === 0) return out;
  for (const row of rows) {
    if (!test(row)) continue;
    if (out.length === k && cmp(row, out[k - 1] as Row) >= 0) continue;
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(out[mid] as Row, row) <= 0) lo = mid + 1;
      else hi = mid;
    }
    out.splice(lo, 0, row);
    if (out.length > k) out.pop();
  }
  return out;
}

export class LiveQuery {
  private readonly test: (row: Row) => boolean;
  private readonly cmp: ((a: Match, b: Match) => number) | null;
  private matches: Match[] | null = null; // sorted when cmp is set, else in view order
  private byKey = new Map<Key, Match>();
  private result: readonly Row[] = [];
  private readonly callbacks = new Set<(rows: readonly Row[]) => void>();
  private unlisten: (() => void) | null = null;
  private scheduled = false;
  private dirty = false;

  constructor(
    private readonly replica: Replica,
    where?: Where,
    sort?: Sort,
    private readonly options: QueryOptions = {},
  ) {
    this.test = compileWhere(where);
    const rowCmp = compileSort(sort);
    this.cmp = rowCmp ? (a, b) => rowCmp(a.row, b.row) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : null;
  }

  // The current results (a new array after each change, the same one until then).
  get rows(): readonly Row[] {
    // Subscribed: kept up to date by the changes; otherwise evaluated on each read.
    if (!this.matches || !this.unlisten) this.evaluate();
    return this.result;
  }

  // `callback` runs after every change of the results (coalesced per microtask); with
  // `immediate`, also now with the current ones. Returns the unsubscribe function.
  subscribe(callback: (rows: readonly Row[]) => void, options: { immediate?: boolean } = {}): () => void {
    this.callbacks.add(callback);
    if (!this.unlisten) {
      this.unlisten = this.replica.onChange((keys) => this.changed(keys));
      this.evaluate();
    }
    if (options.immediate) callback(this.result);
    return () => {
      this.callbacks.delete(callback);
      if (this.callbacks.size === 0) this.destroy();
    };
  }

  destroy(): void {
    this.unlisten?.();
    this.unlisten = null;
    this.callbacks.clear();
    this.dirty = true;
  }

  private evaluate(): void {
    const matches: Match[] = [];
    this.byKey = new Map();
    this.replica.forEachKeyed((key, row) => {
      if (!this.test(row)) return;
      const m = { key, row };
      matches.push(m);
      this.byKey.set(key, m);
    });
    if (this.cmp) matches.sort(this.cmp);
    this.matches = matches;
    this.dirty = false;
    this.publish();
  }

  private changed(keys: ReadonlySet<Key> | null): void {
    if (!this.matches || keys === null) {
      this.evaluate();
      this.schedule();
      return;
    }
    let any = false;
    for (const key of keys) {
      const old = this.byKey.get(key);
      const row = this.replica.get(key);
      const now = row !== undefined && this.test(row);
      if (!old && !now) continue;
      if (old && now && old.row === row) continue;
      any = true;
      if (old) {
        this.removeMatch(old);
        this.byKey.delete(key);
      }
      if (now && row) {
        const m = { key, row };
        this.insertMatch(m);
        this.byKey.set(key, m);
      }
    }
    if (any) {
      this.publish();
      this.schedule();
    }
  }

  private removeMatch(m: Match): void {
    const list = this.matches as Match[];
    let i = -1;
    if (this.cmp) {
      // Binary search for its place, then the exact object nearby (equal rows tie on key).
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((this.cmp(list[mid] as Match, m)) < 0) lo = mid + 1;
        else hi = mid;
      }
      if (list[lo] === m) i = lo;
    }
    if (i < 0) i = list.indexOf(m);
    if (i >= 0) list.splice(i, 1);
  }

  private insertMatch(m: Match): void {
    const list = this.matches as Match[];
    if (!this.cmp) {
      list.push(m);
      return;
    }
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cmp(list[mid] as Match, m) < 0) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, m);
  }

  private publish(): void {
    const list = this.matches as Match[];
    const n = this.options.limit !== undefined ? Math.min(this.options.limit, list.length) : list.length;
    const out = new Array<Row>(n);
    for (let i = 0; i < n; i++) out[i] = (list[i] as Match).row;
    this.result = Object.freeze(out);
  }

  private schedule(): void {
    if (this.scheduled || this.callbacks.size === 0) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const cb of [...this.callbacks]) {
        try {
          cb(this.result);
        } catch (e) {
          console.error('fieldsync: a query callback threw', e);
        }
      }
    });
  }
}
