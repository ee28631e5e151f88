// Opportunities: the territory's pipeline by stage (count and amount per stage) and the
// deals of the chosen stage by closing date; a deal opens its editor.
import { fill, h } from '../dom.js';
import { cents, date, label, money } from '../format.js';
import { Subscriptions, title, type View } from '../view.js';

export const stages = ['prospecting', 'qualification', 'proposal', 'negotiation', 'closed_won', 'closed_lost'] as const;
let chosen: string = 'prospecting';

export const dealsView: View = (root, ctx) => {
  title('Opportunities');
  const subs = new Subscriptions();
  const pipeline = h('div', { class: 'pipeline', role: 'tablist', 'aria-label': 'Stages' });
  const list = h('ul', { class: 'list', role: 'tabpanel' });
  fill(root, h('div', { class: 'page' }, h('h2', {}, 'Opportunities'), pipeline, list));
  const all = ctx.client.collection('opportunities').query(undefined, 'close_date');
  const render = (): void => {
    const rows = all.rows;
    fill(
      pipeline,
      stages.map((s) => {
        const inStage = rows.filter((r) => r.stage === s);
        const sum = inStage.reduce((t, r) => t + cents(r.amount), 0n);
        return h(
          'button',
          {
            type: 'button',
            role: 'tab',
            class: 'stage',
            'aria-selected': String(chosen === s),
            onclick: () => {
              chosen = s;
              render();
            },
          },
          h('span', { class: 'stage-name' }, label(s)),
          h('span', { class: 'stage-count' }, String(inStage.length)),
          h('span', { class: 'stage-sum' }, money(sum)),
        );
      }),
    );
    fill(
      list,
      rows
        .filter((r) => r.stage === chosen)
        .map((o) =>
          h(
            'li',
            { 'data-deal-id': String(o.id) },
            h(
              'a',
              { href: `#/deals/${String(o.id)}`, class: 'row-link' },
              h('span', { class: 'row-title' }, String(o.name)),
              h('span', { class: 'row-sub' }, `${money(cents(o.amount))} \u00b7 closes ${date(o.close_date)}`),
            ),
          ),
        ),
    );
  };
  subs.add(all.subscribe(render, { immediate: true }));
  return subs.dispose;
};
