// The HTTP endpoints the SDK uses (docs/protocol.md): the collections' schemas, delta
// pulls (the fallback when no WebSocket can be opened), mutations over POST, and the
// state check's digest. A 401 asks the app for a new token once and tries again.
import type { TokenSource } from './tokens.js';
import type { Value } from './types.js';
import { parseResults, type MutationResult, type PushBatch } from './wire.js';

export interface HttpAnswer {
  status: number;
  body: unknown;
  retryAfterMs: number | null;
}

export interface Scope {
  where?: string;
  params?: readonly Value[];
}

export interface CollectionSchema {
  name: string;
  primary_key: string[];
  columns: { name: string; type: string; not_null: boolean }[];
}

export interface PullPage {
  snapshot: boolean;
  changes: { op: 'upsert' | 'delete'; key: string; version: string; row?: Record<string, Value> }[];
  cursor: string;
  has_more: boolean;
}

export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly retryAfterMs: number | null, readonly body: unknown) {
    super(message);
  }
}

function errorOf(a: HttpAnswer): HttpError {
  const e = (a.body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof e?.code === 'string' ? e.code : `http_${a.status}`;
  const message = typeof e?.message === 'string' ? e.message : `HTTP ${a.status}`;
  return new HttpError(a.status, code, message, a.retryAfterMs, a.body);
}

export class HttpApi {
  constructor(
    private readonly baseUrl: string,
    private readonly tokens: TokenSource,
    private readonly fetchImpl: typeof fetch,
  ) {}

  async request(path: string, init: RequestInit = {}, signal?: AbortSignal): Promise<HttpAnswer> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.get();
      const headers = new Headers(init.headers);
      headers.set('Authorization', `Bearer ${token}`);
      const res = await this.fetchImpl(this.baseUrl + path, { ...init, headers, ...(signal ? { signal } : {}) });
      const text = await res.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      const retry = res.headers.get('Retry-After');
      const answer = { status: res.status, body, retryAfterMs: retry && /^\d+$/.test(retry) ? Number(retry) * 1000 : null };
      if (res.status === 401 && attempt === 0) {
        this.tokens.refused();
        continue;
      }
      return answer;
    }
  }

  async healthy(): Promise<boolean> {
    try {
      const res = await this.fetchImpl(this.baseUrl + '/healthz', { cache: 'no-store' });
      return res.ok;
    } catch {
      return false;
    }
  }

  async collections(): Promise<CollectionSchema[]> {
    const a = await this.request('/v1/collections');
    if (a.status !== 200) throw errorOf(a);
    const list = (a.body as { collections?: unknown }).collections;
    return Array.isArray(list) ? (list as CollectionSchema[]) : [];
  }

  private scopeQuery(scope: Scope): string {
    let q = '';
    if (scope.where) q += '&where=' + encodeURIComponent(scope.where);
    if (scope.where && scope.params && scope.params.length) q += '&params=' + encodeURIComponent(JSON.stringify(scope.params));
    return q;
  }

  async changes(collection: string, cursor: string | null, scope: Scope, opts: { live?: boolean; limit?: number } = {}, signal?: AbortSignal): Promise<PullPage> {
    let q = 'cursor=' + encodeURIComponent(cursor ?? '') + this.scopeQuery(scope);
    if (opts.limit) q += '&limit=' + opts.limit;
    if (opts.live) q += '&live=true';
    const a = await this.request(`/v1/collections/${encodeURIComponent(collection)}/changes?${q}`, {}, signal);
    if (a.status !== 200) throw errorOf(a);
    return a.body as PullPage;
  }

  async digest(collection: string, cursor: string, scope: Scope): Promise<{ rows: number; digest: string }> {
    const q = 'cursor=' + encodeURIComponent(cursor) + this.scopeQuery(scope);
    const a = await this.request(`/v1/collections/${encodeURIComponent(collection)}/digest?${q}`);
    if (a.status !== 200) throw errorOf(a);
    const b = a.body as { rows?: unknown; digest?: unknown };
    if (typeof b.rows !== 'number' || typeof b.digest !== 'string') throw new HttpError(a.status, 'bad_answer', 'digest answer without rows/digest', null, a.body);
    return { rows: b.rows, digest: b.digest };
  }

  // POST /v1/mutations: the per-mutation results, or an HttpError (409 mutation_gap with
  // expected_mutation_id in its body, 503 with Retry-After, ...).
  async push(batch: PushBatch): Promise<MutationResult[]> {
    const a = await this.request('/v1/mutations', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(batch),
    });
    if (a.status !== 200) throw errorOf(a);
    const results = parseResults((a.body as { results?: unknown }).results);
    if (!results) throw new HttpError(a.status, 'bad_answer', 'mutation answer without results', null, a.body);
    return results;
  }
}

export function expectedMutationId(e: HttpError): number | undefined {
  const v = (e.body as { error?: { expected_mutation_id?: unknown } } | null)?.error?.expected_mutation_id;
  return typeof v === 'number' ? v : undefined;
}
