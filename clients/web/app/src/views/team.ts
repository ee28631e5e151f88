// The manager's view: the region's reps and their KPIs this month, totals, and the
// region's insights, all live. A rep's row opens that rep's 12-month charts.
import { fill, h } from '../dom.js';
import { count, money, monthLong, monthOf, monthPace, percentOf } from '../format.js';
import { kpiOf, lastTwelve, sumKpis, type KpiMonth } from '../kpis.js';
import type { Row } from '../sdk.js';
import { Subscriptions, title, type View } from '../view.js';
import { kpiTiles } from './dashboard.js';
import { insightList } from './insights.js';

function status(k: KpiMonth, pace: number): { text: string; cls: string } {
  const due = k.callsPlanned * pace;
  if (k.callsPlanned === 0) return { text: 'no plan', cls: 'muted' };
  if (k.callsDone >= due) return { text: 'on track', cls: 'ok' };
  if (k.callsDone >= due * 0.8) return { text: 'slightly behind', cls: 'warn' };
  return { text: 'behind', cls: 'bad' };
}

export const teamView: View = (root, ctx) => {
  title('Team');
  const subs = new Subscriptions();
  const now = new Date();
  const month = monthOf(now);
  const pace = monthPace(now);
  const totals = h('div', { 'data-test': 'team-totals' });
  const table = h('div', { 'data-test': 'team' });
  const insightBox = h('div', { 'data-test': 'insights' });
  fill(
    root,
    h(
      'div',
      { class: 'page' },
      h('h2', {}, `Region ${ctx.session.claims.region}`),
      h('p', { class: 'muted' }, `${monthLong(month)} \u00b7 ${Math.round(pace * 100)} % of the month gone`),
      totals,
      h('h2', {}, 'Reps'),
      table,
      h('h2', {}, 'Insights'),
      insightBox,
    ),
  );

  const reps = ctx.client.collection('reps').query({ role: 'rep' }, 'name');
  const kpis = ctx.client.collection('kpis').query({ month });
  const territories = ctx.client.collection('territories');
  const render = (): void => {
    const byRep = new Map<number, KpiMonth>();
    for (const r of kpis.rows) byRep.set(Number(r.rep_id), kpiOf(r));
    const list = reps.rows;
    const mine = list.map((r) => byRep.get(Number(r.id)) ?? kpiOf({ month }));
    const total = sumKpis(mine, month);
    fill(
      totals,
      h(
        'div',
        { class: 'kpi-grid compact' },
        h('section', { class: 'kpi', 'data-kpi': 'team-calls' }, h('h3', { class: 'kpi-label' }, 'Calls'), h('p', { class: 'kpi-value', 'data-test': 'kpi-team-calls' }, `${count(total.callsDone)} / ${count(total.callsPlanned)}`)),
        h('section', { class: 'kpi', 'data-kpi': 'team-samples' }, h('h3', { class: 'kpi-label' }, 'Samples'), h('p', { class: 'kpi-value' }, count(total.samples))),
        h('section', { class: 'kpi', 'data-kpi': 'team-new' }, h('h3', { class: 'kpi-label' }, 'New accounts'), h('p', { class: 'kpi-value' }, count(total.newAccounts))),
        h(
          'section',
          { class: 'kpi', 'data-kpi': 'team-revenue' },
          h('h3', { class: 'kpi-label' }, 'Revenue'),
          h('p', { class: 'kpi-value', 'data-test': 'kpi-team-revenue' }, money(total.revenue)),
          h('p', { class: 'kpi-sub' }, `${Math.round(percentOf(total.revenue, total.revenuePlan))} % of ${money(total.revenuePlan)}`),
        ),
      ),
    );
    if (list.length === 0) {
      fill(table, h('p', { class: 'muted' }, 'Loading the team\u2026'));
      return;
    }
    fill(
      table,
      h(
        'table',
        { class: 'team-table' },
        h('caption', { class: 'sr-only' }, 'Reps of the region and their KPIs this month'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Rep'), h('th', { scope: 'col' }, 'Calls'), h('th', { scope: 'col' }, 'Revenue'), h('th', { scope: 'col' }, 'Status'))),
        h(
          'tbody',
          {},
          list.map((r: Row, i) => {
            const k = mine[i] as KpiMonth;
            const st = status(k, pace);
            const terr = territories.get(String(r.territory_id));
            return h(
              'tr',
              { 'data-rep-id': String(r.id) },
              h('th', { scope: 'row' }, h('a', { href: `#/team/${String(r.id)}` }, String(r.name)), h('span', { class: 'row-sub' }, String(terr?.name ?? ''))),
              h('td', { 'data-test': 'calls' }, `${count(k.callsDone)} / ${count(k.callsPlanned)}`),
              h('td', { 'data-test': 'revenue' }, `${money(k.revenue)}`, h('span', { class: 'row-sub' }, `${Math.round(percentOf(k.revenue, k.revenuePlan))} % of plan`)),
              h('td', {}, h('span', { class: `pill ${st.cls}` }, st.text)),
            );
          }),
        ),
      ),
    );
    table.dataset.ready = kpis.rows.length > 0 ? 'true' : 'false';
  };
  subs.add(reps.subscribe(render));
  subs.add(kpis.subscribe(render));
  render();

  const insights = ctx.client.collection('insights').query();
  subs.add(insights.subscribe((rows) => fill(insightBox, insightList(rows, 30, 'Nothing needs attention in the region.')), { immediate: true }));
  return subs.dispose;
};

// One rep's 12 months, for the manager.
export const repView: View = (root, ctx, [id]) => {
  const subs = new Subscriptions();
  const repId = Number(id);
  const now = new Date();
  const heading = h('h2', {}, 'Rep');
  const box = h('div');
  const insightBox = h('div');
  fill(root, h('div', { class: 'page' }, h('a', { href: '#/', class: 'back' }, '\u2190 Team'), heading, box, h('h2', {}, 'Insights'), insightBox));
  const rep = ctx.client.collection('reps').get(String(repId));
  heading.textContent = rep ? String(rep.name) : `Rep ${repId}`;
  title(heading.textContent);
  const kpis = ctx.client.collection('kpis').query({ rep_id: repId }, 'month');
  subs.add(kpis.subscribe((rows) => fill(box, kpiTiles(lastTwelve(rows, now), now)), { immediate: true }));
  const insights = ctx.client.collection('insights').query({ rep_id: repId });
  subs.add(insights.subscribe((rows) => fill(insightBox, insightList(rows, 20, 'No insights about this rep.')), { immediate: true }));
  return subs.dispose;
};
