// The state check (docs/protocol.md, "State check"): the digest of the rows stored for a
// collection, compared with the server's digest of the rows at the same cursor. This
// module only answers whether they match; the sync engine decides what to do about it.
import { RowDigest } from './digest.js';
import { HttpError, type HttpApi, type Scope } from './http_api.js';
import type { StoredRow } from './store.js';
import type { Key, Row } from './types.js';

export type StateVerdict =
  | { kind: 'match' }
  | { kind: 'mismatch'; local: { rows: number; digest: string }; server: { rows: number; digest: string } }
  // 409 (the cursor no longer resumes: the next subscribe re-snapshots anyway), 503 or
  // offline (checked after the next catch-up), or the stored rows could not be read.
  | { kind: 'skipped' }
  | { kind: 'failed'; message: string };

export async function checkState(
  api: HttpApi,
  collection: string,
  scope: Scope,
  cursor: string,
  held: Promise<[Key, StoredRow][]>,
): Promise<StateVerdict> {
  let rows: [Key, StoredRow][];
  try {
    rows = await held;
  } catch {
    return { kind: 'skipped' };
  }
  const local = new RowDigest();
  for (const [k, s] of rows) local.addRow(k, s.r as Row);
  let server: { rows: number; digest: string };
  try {
    server = await api.digest(collection, cursor, scope);
  } catch (e) {
    if (!(e instanceof HttpError) || e.status >= 500 || e.status === 409) return { kind: 'skipped' };
    return { kind: 'failed', message: e.message };
  }
  if (server.rows === local.rows && server.digest === local.hex()) return { kind: 'match' };
  return { kind: 'mismatch', local: { rows: local.rows, digest: local.hex() }, server };
}
