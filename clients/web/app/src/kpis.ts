// KPI rows (one per rep and month) as the dashboard shows them, and the app's own
// counting: a visit logged on this device adds to this month's calls and samples at once,
// offline too. The kpis fields are counters on the server (docs/merge.md), so the
// device's increments and the ETL job's add up instead of overwriting each other.
import { cents, int, monthOf } from './format.js';
import type { FieldsyncClient, Row } from './sdk.js';

export interface KpiMonth {
  month: string;
  callsPlanned: number;
  callsDone: number;
  samples: number;
  newAccounts: number;
  revenue: bigint; // cents
  revenuePlan: bigint; // cents
}

export function kpiOf(row: Row): KpiMonth {
  return {
    month: String(row.month),
    callsPlanned: int(row.calls_planned),
    callsDone: int(row.calls_done),
    samples: int(row.samples_given),
    newAccounts: int(row.new_accounts),
    revenue: cents(row.revenue),
    revenuePlan: cents(row.revenue_plan),
  };
}

export function emptyKpi(month: string): KpiMonth {
  return { month, callsPlanned: 0, callsDone: 0, samples: 0, newAccounts: 0, revenue: 0n, revenuePlan: 0n };
}

// The last 12 months of a rep, oldest first (months without a row are empty).
export function lastTwelve(rows: readonly Row[], now: Date): KpiMonth[] {
  const byMonth = new Map(rows.map((r) => [String(r.month), kpiOf(r)]));
  const out: KpiMonth[] = [];
  for (let i = 11; i >= 0; i--) {
    const m = monthOf(new Date(now.getFullYear(), now.getMonth() - i, 1));
    out.push(byMonth.get(m) ?? emptyKpi(m));
  }
  return out;
}

export function sumKpis(items: readonly KpiMonth[], month: string): KpiMonth {
  const t = emptyKpi(month);
  for (const k of items) {
    t.callsPlanned += k.callsPlanned;
    t.callsDone += k.callsDone;
    t.samples += k.samples;
    t.newAccounts += k.newAccounts;
    t.revenue += k.revenue;
    t.revenuePlan += k.revenuePlan;
  }
  return t;
}

// Adds a logged visit to its month's KPI row: an update of the counters when the row is
// here, else an insert of the counters alone (the server merges an insert of an existing
// row as an update whose counters add up; columns it does not set keep their values).
export async function countVisit(client: FieldsyncClient, repId: number, visitedAt: Date, samples: number): Promise<void> {
  const kpis = client.collection('kpis');
  const month = monthOf(visitedAt);
  const current = kpis.get({ rep_id: repId, month });
  if (current) {
    await kpis.update(current, { calls_done: int(current.calls_done) + 1, samples_given: int(current.samples_given) + samples });
  } else {
    await kpis.insert({ rep_id: repId, month, calls_done: 1, samples_given: samples });
  }
}
