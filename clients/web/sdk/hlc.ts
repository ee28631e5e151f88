// The hybrid logical clock of docs/merge.md ("Hybrid logical clocks"): close to wall time,
// never going backwards, never tied. Text form (fixed widths, so texts order like clocks):
//   2026-11-25T11:04:51.123Z-001F-<client id>
// Pure: `now` comes in, the new clock goes out. The SDK keeps one clock per client,
// persisted with the outbox (outbox.ts) so that it survives reloads and is shared by tabs.

export interface Hlc {
  pt: number; // physical time, ms since the epoch
  c: number; // logical counter, 0..0xFFFF
}

export const zeroHlc: Hlc = { pt: 0, c: 0 };
const maxCounter = 0xffff;

// Before each local mutation. A counter that would pass 0xFFFF moves to the next
// millisecond instead: still later than everything seen, and always printable.
export function hlcSend(clock: Hlc, now: number): Hlc {
  const pt = Math.max(clock.pt, now);
  const c = pt === clock.pt ? clock.c + 1 : 0;
  return c > maxCounter ? { pt: pt + 1, c: 0 } : { pt, c };
}

export class ClockDriftError extends Error {
  constructor(readonly remote: Hlc, readonly now: number) {
    super(`a clock ${remote.pt - now} ms ahead of this device's`);
  }
}

// For every clock learned from the server (the client_ts of changes' origins), so that an
// edit made after seeing a version is later than that version. A remote clock further
// ahead of `now` than maxDriftMs is refused (it would drag this clock into the future).
export function hlcReceive(clock: Hlc, remote: Hlc, now: number, maxDriftMs = 60_000): Hlc {
  if (remote.pt - now > maxDriftMs) throw new ClockDriftError(remote, now);
  const pt = Math.max(clock.pt, remote.pt, now);
  let c: number;
  if (pt === clock.pt && pt === remote.pt) c = Math.max(clock.c, remote.c) + 1;
  else if (pt === clock.pt) c = clock.c + 1;
  else if (pt === remote.pt) c = remote.c + 1;
  else c = 0;
  return c > maxCounter ? { pt: pt + 1, c: 0 } : { pt, c };
}

export function formatHlc(clock: Hlc, node: string): string {
  return `${new Date(clock.pt).toISOString()}-${clock.c.toString(16).toUpperCase().padStart(4, '0')}-${node}`;
}

export function parseHlc(text: string): (Hlc & { node: string }) | null {
  if (text.length < 31 || text[24] !== '-' || text[29] !== '-') return null;
  const pt = Date.parse(text.slice(0, 24));
  const counter = text.slice(25, 29);
  if (!Number.isFinite(pt) || !/^[0-9A-F]{4}$/.test(counter)) return null;
  return { pt, c: parseInt(counter, 16), node: text.slice(30) };
}

export function compareHlc(a: Hlc, b: Hlc): number {
  return a.pt !== b.pt ? (a.pt < b.pt ? -1 : 1) : a.c !== b.c ? (a.c < b.c ? -1 : 1) : 0;
}
