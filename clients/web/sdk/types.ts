// The public vocabulary of @fieldsync/client.

// A column value exactly as the server sent it (docs/protocol.md, value forms): int8 beyond
// 2^53 and inexact numerics arrive as strings, json/jsonb as their text, timestamps as ISO
// strings. The SDK stores and returns them as received and never re-formats them.
export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };
export type Row = { readonly [column: string]: Value };
// A row's canonical key text, as the server names it (one key column: the value's text;
// several: the JSON array of the values).
export type Key = string;

export type MutationOp = 'insert' | 'update' | 'delete';

// A refused edit: what the app shows in a conflicts inbox ("your edit to X was refused
// because ...") and what it needs to re-apply it.
export interface Conflict {
  id: number;
  collection: string;
  key: Key;
  op: MutationOp;
  mutationId: number;
  code: string;
  message: string;
  // The values the client tried to write (update: the changed columns; insert: the row).
  rejected: Row | null;
  // The server's row when it was refused (null when it is gone or outside the scope).
  serverRow: Row | null;
  serverVersion: string | null;
  fields: string[];
  at: number;
}

export type MutationOutcome =
  | { status: 'applied'; version: string | null }
  | { status: 'merged'; version: string | null; row: Row | null }
  | { status: 'rejected'; conflict: Conflict };

export type MutationState = 'pending' | 'acknowledged' | 'rejected' | 'done';

export interface PendingMutation {
  mutationId: number;
  collection: string;
  key: Key;
  op: MutationOp;
  state: MutationState;
  createdAt: number;
}

export type ConnectionState = 'offline' | 'connecting' | 'online' | 'http';
export type CollectionPhase = 'empty' | 'snapshot' | 'catching-up' | 'live' | 'error';

export interface CollectionStatus {
  phase: CollectionPhase;
  rows: number;
  lastSyncedAt: number | null;
  error: string | null;
}

export interface StorageStatus {
  persisted: boolean | null;
  usage: number | null;
  quota: number | null;
}

export interface SyncStatus {
  connection: ConnectionState;
  role: 'leader' | 'follower' | 'starting';
  collections: Record<string, CollectionStatus>;
  pending: number;
  conflicts: number;
  lastSyncedAt: number | null;
  storage: StorageStatus;
  lastError: SyncError | null;
}

export interface SyncError {
  code: string;
  message: string;
  collection?: string;
}

export interface Warning {
  code: 'database_vanished' | 'unsent_edits_lost' | 'digest_mismatch' | 'reset' | 'quota';
  message: string;
  collection?: string;
}

export interface ClientEvents {
  status: SyncStatus;
  conflict: Conflict;
  error: SyncError;
  warning: Warning;
}
