// A row's canonical key text, computed the way the server does (protocol/row_key.hpp): one
// key column gives its value's text (a string as itself, anything else as its JSON);
// several give the JSON array of the values in primary-key order.
import type { Key, Row, Value } from './types.js';

export function rowKey(row: Row, primaryKey: readonly string[]): Key | null {
  if (primaryKey.length === 0) return null;
  const values: Value[] = [];
  for (const column of primaryKey) {
    const v = row[column];
    if (v === undefined || v === null) return null;
    values.push(v);
  }
  if (values.length === 1) {
    const v = values[0] as Value;
    return typeof v === 'string' ? v : JSON.stringify(v);
  }
  return JSON.stringify(values);
}

// The key columns of a row (what a mutation's "key" member carries).
export function keyColumns(row: Row, primaryKey: readonly string[]): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const column of primaryKey) {
    const v = row[column];
    if (v !== undefined) out[column] = v;
  }
  return out;
}
