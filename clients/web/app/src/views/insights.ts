// The insights list (the insights job's rows, public.insights): most severe first, then
// by how far off they are; each links to what it is about.
import { h, type Child } from '../dom.js';
import { int } from '../format.js';
import type { Row } from '../sdk.js';

const rank: Record<string, number> = { high: 0, medium: 1, low: 2 };
const kindLabel: Record<string, string> = {
  not_visited: 'Not visited',
  behind_plan: 'Behind plan',
  stuck_opportunity: 'Stuck deal',
  competitor: 'Competition',
  region_summary: 'Region',
};

export function sortInsights(rows: readonly Row[]): Row[] {
  return [...rows].sort(
    (a, b) =>
      (a.kind === 'region_summary' ? -1 : 0) - (b.kind === 'region_summary' ? -1 : 0) ||
      (rank[String(a.severity)] ?? 3) - (rank[String(b.severity)] ?? 3) ||
      int(b.value) - int(a.value) ||
      String(a.id).localeCompare(String(b.id)),
  );
}

function target(row: Row): string | null {
  if (row.opportunity_id) return `#/deals/${String(row.opportunity_id)}`;
  if (row.account_id) return `#/accounts/${String(row.account_id)}`;
  return null;
}

export function insightItem(row: Row, extra?: Child): HTMLElement {
  const href = target(row);
  const body = [
    h('span', { class: `badge sev-${String(row.severity)}` }, kindLabel[String(row.kind)] ?? String(row.kind)),
    h('span', { class: 'insight-title' }, String(row.title)),
    h('span', { class: 'insight-detail' }, String(row.detail)),
    extra,
  ];
  return h(
    'li',
    { class: `insight sev-${String(row.severity)}`, 'data-insight-id': String(row.id), 'data-kind': String(row.kind) },
    href ? h('a', { href, class: 'insight-link' }, ...body) : h('div', { class: 'insight-link' }, ...body),
  );
}

// A list of at most `limit` insights with "show all" for the rest.
export function insightList(rows: readonly Row[], limit: number, emptyText: string): HTMLElement {
  const sorted = sortInsights(rows);
  const list = h('ul', { class: 'insights', 'aria-live': 'polite' });
  if (sorted.length === 0) return h('p', { class: 'muted' }, emptyText);
  for (const r of sorted.slice(0, limit)) list.appendChild(insightItem(r));
  if (sorted.length <= limit) return list;
  const more = h('button', { type: 'button', class: 'link-button' }, `Show all ${sorted.length}`);
  more.addEventListener('click', () => {
    for (const r of sorted.slice(limit)) list.appendChild(insightItem(r));
    more.remove();
  });
  return h('div', {}, list, more);
}
