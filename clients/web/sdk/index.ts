// @fieldsync/client: the offline-first web client of fieldsync (docs/web-client.md).
export { createClient } from './client.js';
export type { ClientOptions, Collection, FieldsyncClient } from './client.js';
export type { CollectionConfig, Mutation } from './core.js';
export { LiveQuery } from './query.js';
export { flushOutbox } from './flush.js';
export type { FlushOptions, FlushResult } from './flush.js';
export type { FieldCondition, QueryOptions, Sort, SortKey, Where } from './query.js';
export type { GetToken, TokenReason } from './tokens.js';
export type {
  ClientEvents,
  CollectionPhase,
  CollectionStatus,
  Conflict,
  ConnectionState,
  Key,
  MutationOp,
  MutationOutcome,
  MutationState,
  PendingMutation,
  Row,
  StorageStatus,
  SyncError,
  SyncStatus,
  Value,
  Warning,
} from './types.js';
// The state check's digest, for apps and tools that want to compare data sets themselves.
export { canonicalText, RowDigest } from './digest.js';
