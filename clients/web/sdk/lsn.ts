// Row versions are PostgreSQL LSNs ("16/B374D848": two hex numbers). Comparing them tells
// which of two versions of a row is newer; cursors stay opaque.

export function parseLsn(text: string): bigint | null {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) return null;
  const hi = text.slice(0, slash);
  const lo = text.slice(slash + 1);
  if (!/^[0-9A-Fa-f]{1,8}$/.test(hi) || !/^[0-9A-Fa-f]{1,8}$/.test(lo)) return null;
  return (BigInt('0x' + hi) << 32n) | BigInt('0x' + lo);
}

// -1, 0, 1; an unparsable version counts as the oldest.
export function compareLsn(a: string | null | undefined, b: string | null | undefined): number {
  const x = a ? parseLsn(a) : null;
  const y = b ? parseLsn(b) : null;
  if (x === null && y === null) return 0;
  if (x === null) return -1;
  if (y === null) return 1;
  return x < y ? -1 : x > y ? 1 : 0;
}
