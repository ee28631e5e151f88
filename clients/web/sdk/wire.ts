// The fieldsync.v1 messages the SDK sends and receives (docs/protocol.md), and the checks
// that turn parsed JSON into them. Anything that does not have the documented shape is
// refused here, so the rest of the SDK can trust its types.
import type { Row, Value } from './types.js';

export interface SnapshotRow {
  key: string;
  version: string;
  row: Row;
}

export interface Origin {
  client_id: string;
  mutation_id: number;
  client_ts?: string;
}

export type ServerMessage =
  | { type: 'welcome'; session?: number; subject?: string; client_id?: string; expires_at?: string }
  | { type: 'snapshot'; id: string; rows: SnapshotRow[]; last: boolean; cursor?: string }
  | {
      type: 'change';
      id: string;
      op: 'insert' | 'update' | 'delete';
      collection: string;
      key: string;
      row: Row;
      version: string;
      cursor: string;
      origin?: Origin;
    }
  | { type: 'up-to-date'; id: string; cursor: string }
  | { type: 'reset'; id: string; reason: string; message?: string }
  | { type: 'unsubscribed'; id: string }
  | { type: 'pong'; id?: Value }
  | { type: 'push_result'; id?: Value; client_id: string; last_mutation_id: number; results: MutationResult[] }
  | { type: 'error'; id?: Value; code: string; message: string; expected_mutation_id?: number };

export interface MutationResult {
  mutation_id: number;
  status: 'applied' | 'merged' | 'rejected' | 'duplicate';
  version?: string | null;
  row?: Row | null;
  code?: string;
  message?: string;
  fields?: string[];
  original?: MutationResult | null;
}

export interface WireMutation {
  mutation_id: number;
  collection: string;
  op: 'insert' | 'update' | 'delete';
  key: Record<string, Value>;
  set?: Row;
  base?: Row;
  base_version?: string | null;
  client_ts?: string;
}

export interface PushBatch {
  client_id: string;
  mutations: WireMutation[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';

function subscriptionId(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return null;
}

function mutationResult(v: unknown): MutationResult | null {
  if (!isObject(v) || typeof v.mutation_id !== 'number' || !isString(v.status)) return null;
  if (!['applied', 'merged', 'rejected', 'duplicate'].includes(v.status)) return null;
  const r: MutationResult = { mutation_id: v.mutation_id, status: v.status as MutationResult['status'] };
  if (isString(v.version) || v.version === null) r.version = v.version;
  if (isObject(v.row) || v.row === null) r.row = v.row as Row | null;
  if (isString(v.code)) r.code = v.code;
  if (isString(v.message)) r.message = v.message;
  if (Array.isArray(v.fields)) r.fields = v.fields.filter(isString);
  if (v.original !== undefined) r.original = v.original === null ? null : mutationResult(v.original);
  return r;
}

export function parseResults(v: unknown): MutationResult[] | null {
  if (!Array.isArray(v)) return null;
  const out: MutationResult[] = [];
  for (const item of v) {
    const r = mutationResult(item);
    if (!r) return null;
    out.push(r);
  }
  return out;
}

// One message (not a batch): null when it does not have its documented shape.
export function parseServerMessage(v: unknown): ServerMessage | null {
  if (!isObject(v) || !isString(v.type)) return null;
  const id = subscriptionId(v.id);
  switch (v.type) {
    case 'welcome':
      return {
        type: 'welcome',
        ...(typeof v.session === 'number' ? { session: v.session } : {}),
        ...(isString(v.subject) ? { subject: v.subject } : {}),
        ...(isString(v.client_id) ? { client_id: v.client_id } : {}),
        ...(isString(v.expires_at) ? { expires_at: v.expires_at } : {}),
      };
    case 'snapshot': {
      if (id === null || !Array.isArray(v.rows) || typeof v.last !== 'boolean') return null;
      const rows: SnapshotRow[] = [];
      for (const r of v.rows) {
        if (!isObject(r) || !isString(r.key) || !isString(r.version) || !isObject(r.row)) return null;
        rows.push({ key: r.key, version: r.version, row: r.row as Row });
      }
      if (v.last && !isString(v.cursor)) return null;
      return { type: 'snapshot', id, rows, last: v.last, ...(isString(v.cursor) ? { cursor: v.cursor } : {}) };
    }
    case 'change': {
      if (id === null || !isString(v.key) || !isString(v.version) || !isString(v.cursor)) return null;
      if (v.op !== 'insert' && v.op !== 'update' && v.op !== 'delete') return null;
      if (!isObject(v.row) || !isString(v.collection)) return null;
      let origin: Origin | undefined;
      if (isObject(v.origin) && isString(v.origin.client_id) && typeof v.origin.mutation_id === 'number') {
        origin = { client_id: v.origin.client_id, mutation_id: v.origin.mutation_id };
        if (isString(v.origin.client_ts)) origin.client_ts = v.origin.client_ts;
      }
      return {
        type: 'change',
        id,
        op: v.op,
        collection: v.collection,
        key: v.key,
        row: v.row as Row,
        version: v.version,
        cursor: v.cursor,
        ...(origin ? { origin } : {}),
      };
    }
    case 'up-to-date':
      return id !== null && isString(v.cursor) ? { type: 'up-to-date', id, cursor: v.cursor } : null;
    case 'reset':
      return id !== null
        ? { type: 'reset', id, reason: isString(v.reason) ? v.reason : 'unknown', ...(isString(v.message) ? { message: v.message } : {}) }
        : null;
    case 'unsubscribed':
      return id !== null ? { type: 'unsubscribed', id } : null;
    case 'pong':
      return { type: 'pong', id: (v.id ?? null) as Value };
    case 'push_result': {
      const results = parseResults(v.results);
      if (!results || !isString(v.client_id) || typeof v.last_mutation_id !== 'number') return null;
      return { type: 'push_result', id: (v.id ?? null) as Value, client_id: v.client_id, last_mutation_id: v.last_mutation_id, results };
    }
    case 'error':
      if (!isString(v.code)) return null;
      return {
        type: 'error',
        id: (v.id ?? null) as Value,
        code: v.code,
        message: isString(v.message) ? v.message : v.code,
        ...(typeof v.expected_mutation_id === 'number' ? { expected_mutation_id: v.expected_mutation_id } : {}),
      };
    default:
      return null;
  }
}

// A frame's messages: a "batch" holds several, handled in order as if they came alone.
export function parseFrame(text: string): ServerMessage[] | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (isObject(v) && v.type === 'batch' && Array.isArray(v.messages)) {
    const out: ServerMessage[] = [];
    for (const m of v.messages) {
      const parsed = parseServerMessage(m);
      if (parsed) out.push(parsed);
    }
    return out;
  }
  const one = parseServerMessage(v);
  return one ? [one] : null;
}
