// When an acknowledged edit leaves the view (pure): once the local rows show its effect,
// the entry is retired, so the view never flickers back to the row before the edit.
//  - the change its mutation made arrived (origin = this client, mutation id at or after
//    the entry's, same row), or any change of the row at or after the acknowledged version;
//  - the local row already has the acknowledged version (a write that changed nothing);
//  - after graceMs without either: a change that never comes to this client (the row is
//    outside its scope, or the server wrote nothing and did not name a version).
import { compareLsn } from './lsn.js';
import type { OutboxEntry } from './outbox.js';

export interface SeenChange {
  collection: string;
  key: string;
  version: string;
  origin?: { client_id: string; mutation_id: number };
}

export function retiredByChanges(entries: readonly OutboxEntry[], changes: readonly SeenChange[], clientId: string): number[] {
  const out: number[] = [];
  for (const e of entries) {
    if (e.state !== 'acked' || !e.ack) continue;
    const hit = changes.some(
      (c) =>
        c.collection === e.collection &&
        c.key === e.key &&
        ((c.origin && c.origin.client_id === clientId && c.origin.mutation_id >= e.mutationId) ||
          (e.ack?.version != null && compareLsn(c.version, e.ack.version) >= 0)),
    );
    if (hit) out.push(e.seq);
  }
  return out;
}

export function retiredByState(
  entries: readonly OutboxEntry[],
  heldVersion: (collection: string, key: string) => string | undefined,
  now: number,
  graceMs: number,
): number[] {
  const out: number[] = [];
  for (const e of entries) {
    if (e.state !== 'acked' || !e.ack) continue;
    const held = heldVersion(e.collection, e.key);
    if (e.ack.version != null && held !== undefined && compareLsn(held, e.ack.version) >= 0) out.push(e.seq);
    else if (now - e.ack.at >= graceMs) out.push(e.seq);
  }
  return out;
}
