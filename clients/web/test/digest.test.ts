// The state check's digest against the vectors JavaScript made (tests/fixtures/digest),
// which the server's C++ is checked against too.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { canonicalText, RowDigest } from '../sdk/digest.js';
import type { Value } from '../sdk/types.js';

interface Vectors {
  rows: { key: string; json: string; canonical: string; hash: string }[];
  sets: { name: string; rows: { key: string; json: string }[]; count: number; digest: string }[];
}

// build/test/digest.test.js -> the repository's tests/fixtures
const file = fileURLToPath(new URL('../../../../tests/fixtures/digest/vectors.json', import.meta.url));
const vectors = JSON.parse(readFileSync(file, 'utf8')) as Vectors;

test('canonical row text and row hashes match the shared vectors', () => {
  assert.ok(vectors.rows.length >= 10);
  for (const v of vectors.rows) {
    const row = JSON.parse(v.json) as Value;
    assert.equal(canonicalText(row), v.canonical, v.key);
    const d = new RowDigest();
    d.addRow(v.key, row);
    assert.equal(d.hex(), v.hash, v.key);
  }
});

test('set digests are order-independent sums and match the shared vectors', () => {
  for (const s of vectors.sets) {
    const d = new RowDigest();
    for (const r of s.rows) d.addRow(r.key, JSON.parse(r.json) as Value);
    assert.equal(d.rows, s.count, s.name);
    assert.equal(d.hex(), s.digest, s.name);
  }
  const all = vectors.sets.find((s) => s.name === 'all rows');
  const changed = vectors.sets.find((s) => s.name === 'one row changed');
  assert.notEqual(all?.digest, changed?.digest);
});
