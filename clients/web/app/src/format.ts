// Formatting of the values the server sends (docs/protocol.md): numeric columns arrive as
// numbers or, when a double cannot hold them exactly, as decimal strings ("1234.50");
// timestamps as ISO strings; dates as "YYYY-MM-DD". Money is handled as integer cents
// (BigInt) so sums are exact; a string is never used in arithmetic.
import type { Value } from './sdk.js';

// Cents of a numeric(14,2) value (number or decimal string); 0n for null or garbage.
export function cents(v: Value | undefined): bigint {
  if (v === null || v === undefined) return 0n;
  const text = typeof v === 'number' ? v.toFixed(2) : typeof v === 'string' ? v.trim() : '';
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return 0n;
  const frac = ((m[3] ?? '') + '00').slice(0, 2);
  const whole = BigInt(m[2] || '0') * 100n + BigInt(frac);
  return m[1] === '-' ? -whole : whole;
}

const grouping = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });

// "12,345" from cents, rounded to whole units (half away from zero).
export function money(c: bigint): string {
  const neg = c < 0n;
  const abs = neg ? -c : c;
  const units = (abs + 50n) / 100n;
  const text = units.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return neg ? `-${text}` : text;
}

// The decimal text of cents ("1234.50"), as mutations send numerics.
export function centsText(c: bigint): string {
  const neg = c < 0n;
  const abs = neg ? -c : c;
  return `${neg ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

export function int(v: Value | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return 0;
}

export function count(n: number): string {
  return grouping.format(n);
}

// A percentage of a ratio of cents, rounded.
export function percentOf(part: bigint, whole: bigint): number {
  if (whole <= 0n) return 0;
  return Number((part * 1000n) / whole) / 10;
}

const dateFmt = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const timeFmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const monthFmt = new Intl.DateTimeFormat('en-GB', { month: 'short', timeZone: 'UTC' });
const monthLongFmt = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });

export function date(v: Value | undefined): string {
  if (typeof v !== 'string') return '';
  const d = new Date(v.length === 10 ? `${v}T00:00:00Z` : v);
  return Number.isNaN(d.getTime()) ? v : dateFmt.format(d);
}

export function dateTime(v: Value | undefined): string {
  if (typeof v !== 'string') return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : dateTimeFmt.format(d);
}

export function clock(ms: number): string {
  return timeFmt.format(new Date(ms));
}

export function monthShort(month: string): string {
  return monthFmt.format(new Date(`${month}T00:00:00Z`));
}

export function monthLong(month: string): string {
  return monthLongFmt.format(new Date(`${month}T00:00:00Z`));
}

// "2026-12-01": the first day of the month of `d` (local calendar, as the rep lives it).
export function monthOf(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-01`;
}

// The share of the month gone by at `d` (1st: 1/31 ... last day: 1).
export function monthPace(d: Date): number {
  const days = new Date(d.getFullYear(), d.getMonth() + 1, 0).getDate();
  return d.getDate() / days;
}

export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 45) return 'just now';
  if (s < 90) return '1 min ago';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const hrs = Math.round(m / 60);
  if (hrs < 36) return `${hrs} h ago`;
  return `${Math.round(hrs / 24)} days ago`;
}

// A jsonb value arrives as its text: the object it holds, or {} when it is not one.
export function jsonObject(v: Value | undefined): Record<string, Value> {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, Value>;
  if (typeof v !== 'string') return {};
  try {
    const o: unknown = JSON.parse(v);
    return typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, Value>) : {};
  } catch {
    return {};
  }
}

export function stringArray(v: Value | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function label(code: string): string {
  const s = code.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
