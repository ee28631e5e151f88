// The optimistic view of one row: the server's row with the outbox entries on its key
// replayed on top, in local order (pure). An acknowledged merge shows the row the server
// made; an update of a row that is gone shows nothing (the server will say what happens).
import type { OutboxEntry } from './outbox.js';
import type { Row } from './types.js';

export function replay(server: Row | undefined, entries: readonly OutboxEntry[]): Row | undefined {
  let row = server;
  for (const e of entries) {
    if (e.state === 'acked' && e.ack?.status === 'merged' && e.ack.row) {
      row = e.ack.row;
      continue;
    }
    switch (e.op) {
      case 'insert':
        row = row ? { ...row, ...(e.set ?? {}) } : { ...(e.set ?? {}) };
        break;
      case 'update':
        if (row) row = { ...row, ...(e.set ?? {}) };
        break;
      case 'delete':
        row = undefined;
        break;
    }
  }
  return row;
}
