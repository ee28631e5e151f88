// One account: its details, what the insights say about it, the visit history (of the
// synced window) and its opportunities; "Log a visit" is the main action.
import { fill, h } from '../dom.js';
import { date, dateTime, money, cents, label, stringArray } from '../format.js';
import { Subscriptions, title, type View } from '../view.js';
import { insightItem } from './insights.js';
import { visitsWindowStart } from '../data.js';

export const accountView: View = (root, ctx, [id]) => {
  const subs = new Subscriptions();
  const key = String(id);
  const head = h('div');
  const insightBox = h('div');
  const visitBox = h('div', { 'data-test': 'visit-history' });
  const dealBox = h('div');
  fill(
    root,
    h(
      'div',
      { class: 'page' },
      h('a', { href: '#/accounts', class: 'back' }, '\u2190 Accounts'),
      head,
      h('a', { class: 'button primary block', href: `#/accounts/${key}/visit`, 'data-test': 'log-visit' }, 'Log a visit'),
      insightBox,
      h('h3', {}, 'Visits'),
      h('p', { class: 'muted small' }, `Since ${date(visitsWindowStart(new Date()))}`),
      visitBox,
      h('h3', {}, 'Opportunities'),
      dealBox,
    ),
  );
  const account = ctx.client.collection('accounts').query({ id: key });
  subs.add(
    account.subscribe(
      (rows) => {
        const a = rows[0];
        if (!a) {
          fill(head, h('h2', {}, 'Account'), h('p', { class: 'muted' }, 'Not in your territory, or not synced yet.'));
          return;
        }
        title(String(a.name));
        fill(
          head,
          h('h2', {}, String(a.name), ' ', h('span', { class: `seg seg-${String(a.segment)}`, title: `Segment ${String(a.segment)}` }, String(a.segment))),
          h('p', { class: 'muted' }, [label(String(a.kind)), a.specialty ? String(a.specialty) : null].filter(Boolean).join(' \u00b7 ')),
          h('p', {}, `${String(a.postal_code)} ${String(a.city)}`, a.phone ? [' \u00b7 ', h('a', { href: `tel:${String(a.phone)}` }, String(a.phone))] : null),
          stringArray(a.tags).length ? h('p', { class: 'chips' }, stringArray(a.tags).map((t) => h('span', { class: 'chip static' }, t))) : null,
        );
      },
      { immediate: true },
    ),
  );
  const insights = ctx.client.collection('insights').query({ account_id: key });
  subs.add(insights.subscribe((rows) => fill(insightBox, rows.length ? h('ul', { class: 'insights' }, rows.map((r) => insightItem(r))) : null), { immediate: true }));
  const reps = ctx.client.collection('reps');
  const visits = ctx.client.collection('visits').query({ account_id: key }, { by: 'visited_at', desc: true });
  subs.add(
    visits.subscribe(
      (rows) =>
        fill(
          visitBox,
          rows.length === 0
            ? h('p', { class: 'muted' }, 'No visits in this period.')
            : h(
                'ul',
                { class: 'list' },
                rows.map((v) =>
                  h(
                    'li',
                    { 'data-visit-id': String(v.id) },
                    h(
                      'a',
                      { href: `#/visits/${String(v.id)}`, class: 'row-link' },
                      h('span', { class: 'row-title' }, `${dateTime(v.visited_at)} \u00b7 ${label(String(v.channel))}`),
                      h('span', { class: 'row-sub' }, `${String(reps.get(String(v.rep_id))?.name ?? 'Rep ' + String(v.rep_id))}${stringArray(v.products_discussed).length ? ' \u00b7 ' + stringArray(v.products_discussed).join(', ') : ''}`),
                      v.notes ? h('span', { class: 'row-note', 'data-test': 'visit-notes' }, String(v.notes)) : null,
                    ),
                  ),
                ),
              ),
        ),
      { immediate: true },
    ),
  );
  const deals = ctx.client.collection('opportunities').query({ account_id: key }, 'close_date');
  subs.add(
    deals.subscribe(
      (rows) =>
        fill(
          dealBox,
          rows.length === 0
            ? h('p', { class: 'muted' }, 'None.')
            : h(
                'ul',
                { class: 'list' },
                rows.map((o) =>
                  h(
                    'li',
                    {},
                    h(
                      'a',
                      { href: `#/deals/${String(o.id)}`, class: 'row-link' },
                      h('span', { class: 'row-title' }, String(o.name)),
                      h('span', { class: 'row-sub' }, `${label(String(o.stage))} \u00b7 ${money(cents(o.amount))} \u00b7 closes ${date(o.close_date)}`),
                    ),
                  ),
                ),
              ),
        ),
      { immediate: true },
    ),
  );
  return subs.dispose;
};
