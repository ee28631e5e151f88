// The state check's digest (docs/protocol.md, "State check"), byte for byte what the
// server computes (protocol/row_digest.hpp): per row, FNV-1a 64 of the UTF-8 bytes of
// `[<key as a JSON string>,<canonical row>]`; over a set, the count and the sum of the
// hashes modulo 2^64, so the order does not matter. The canonical row is the JSON of the
// stored values with object keys sorted (default sort: UTF-16 code units), numbers as
// Number#toString prints them and strings as JSON.stringify escapes them, no spaces.
//
// 64-bit arithmetic in two 32-bit halves: BigInt per byte would make a 100k-row check
// take seconds.
import type { Value } from './types.js';

export function canonicalText(v: Value | undefined): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      break;
  }
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ',';
      out += canonicalText(v[i]);
    }
    return out + ']';
  }
  const o = v as { [k: string]: Value };
  const keys = Object.keys(o).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (i > 0) out += ',';
    out += JSON.stringify(k) + ':' + canonicalText(o[k]);
  }
  return out + '}';
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(4096);

// FNV-1a 64 of the UTF-8 bytes of `text`, as [high 32 bits, low 32 bits].
export function fnv1a64(text: string): [number, number] {
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3 + 1024);
  const { written } = encoder.encodeInto(text, scratch);
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < written; i++) {
    lo = (lo ^ (scratch[i] as number)) >>> 0;
    // (hi, lo) * (2^40 + 0x1b3) mod 2^64
    const low = lo * 0x1b3; // < 2^41: exact in a double
    const carry = Math.floor(low / 0x100000000);
    hi = (Math.imul(hi, 0x1b3) + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = low >>> 0;
  }
  return [hi, lo];
}

export function rowHash(key: string, row: Value): [number, number] {
  return fnv1a64('[' + JSON.stringify(key) + ',' + canonicalText(row) + ']');
}

export class RowDigest {
  private hi = 0;
  private lo = 0;
  rows = 0;

  add([h, l]: [number, number]): void {
    const lo = this.lo + l;
    this.lo = lo >>> 0;
    this.hi = (this.hi + h + (lo > 0xffffffff ? 1 : 0)) >>> 0;
    this.rows++;
  }

  addRow(key: string, row: Value): void {
    this.add(rowHash(key, row));
  }

  hex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}
