// What a push's answer means for the outbox: a pure decision per result
// (docs/protocol.md, "Mutations"). The push loop (push_loop.ts) does the I/O around it.
//
//  applied / merged      -> acknowledged: not sent again; the view keeps showing it until
//                           the change it made arrives (retire.ts), or it is retired at
//                           once when the local row already has that version
//  duplicate + original  -> as the original result
//  duplicate, no original-> acknowledged with an unknown version
//  rejected              -> dropped from the outbox; a conflict for the app (the view falls
//                           back to the server's row)
//  no result for an entry-> stays pending (sent again)
import type { Ack, OutboxEntry, OutboxUpdate } from './outbox.js';
import type { Conflict } from './types.js';
import type { MutationResult } from './wire.js';

export function conflictOf(e: OutboxEntry, r: MutationResult, at: number): Omit<Conflict, 'id'> {
  return {
    collection: e.collection,
    key: e.key,
    op: e.op,
    mutationId: e.mutationId,
    code: r.code ?? 'rejected',
    message: r.message ?? r.code ?? 'the server refused the edit',
    rejected: e.set ?? (e.op === 'delete' ? e.base : null),
    serverRow: r.row ?? null,
    serverVersion: r.version ?? null,
    fields: r.fields ?? [],
    at,
  };
}

export interface PlannedOutcome {
  seq: number;
  result: MutationResult; // the effective result (a duplicate's original)
}

export function planPushReply(
  sent: readonly OutboxEntry[],
  results: readonly MutationResult[],
  now: number,
): { update: OutboxUpdate; outcomes: PlannedOutcome[] } {
  const byId = new Map<number, OutboxEntry>();
  for (const e of sent) byId.set(e.mutationId, e);
  const update: OutboxUpdate = { acks: [], retire: [], conflicts: [] };
  const outcomes: PlannedOutcome[] = [];
  for (const raw of results) {
    const e = byId.get(raw.mutation_id);
    if (!e) continue;
    let r = raw;
    if (r.status === 'duplicate') {
      r = r.original && r.original.status !== 'duplicate'
        ? { ...r.original, mutation_id: raw.mutation_id }
        : { mutation_id: raw.mutation_id, status: 'applied', version: null };
    }
    outcomes.push({ seq: e.seq, result: r });
    if (r.status === 'rejected') {
      update.retire.push(e.seq);
      update.conflicts.push(conflictOf(e, r, now));
    } else {
      const ack: Ack = {
        status: r.status === 'merged' ? 'merged' : 'applied',
        version: r.version ?? null,
        row: r.status === 'merged' ? (r.row ?? null) : null,
        at: now,
      };
      update.acks.push({ seq: e.seq, ack });
    }
  }
  return { update, outcomes };
}

// How the push loop reacts to an error answer to a whole batch.
export type BatchErrorPlan =
  | { kind: 'renumber'; expected: number }
  | { kind: 'retry'; afterMs: number }
  | { kind: 'split' } // batch_too_large / bad_request on several: send fewer at once
  | { kind: 'drop-first'; code: string; message: string } // bad_request on a batch of one
  | { kind: 'reauth' }
  | { kind: 'stop'; code: string; message: string };

export function planBatchError(
  code: string,
  message: string,
  batchSize: number,
  expected: number | undefined,
  retryAfterMs: number | null,
): BatchErrorPlan {
  switch (code) {
    case 'mutation_gap':
      return expected !== undefined && expected > 0 ? { kind: 'renumber', expected } : { kind: 'retry', afterMs: 1000 };
    case 'row_locked':
    case 'starting':
    case 'too_many_pushes':
      return { kind: 'retry', afterMs: retryAfterMs ?? 1000 };
    case 'database_unavailable':
    case 'unavailable':
    case 'internal_error':
      return { kind: 'retry', afterMs: retryAfterMs ?? 5000 };
    case 'batch_too_large':
      return batchSize > 1 ? { kind: 'split' } : { kind: 'drop-first', code, message };
    case 'bad_request':
      return batchSize > 1 ? { kind: 'split' } : { kind: 'drop-first', code, message };
    case 'missing_token':
    case 'invalid_token':
    case 'token_expired':
    case 'token_not_yet_valid':
    case 'unauthenticated':
      return { kind: 'reauth' };
    default:
      // forbidden (no sub), client_not_yours: nothing this client can fix by retrying.
      return { kind: 'stop', code, message };
  }
}
