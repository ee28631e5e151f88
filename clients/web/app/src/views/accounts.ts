// Accounts: search as you type over the local store (name or city, ignoring case), with
// a segment filter; offline it works the same. A result opens the account.
import { fill, h } from '../dom.js';
import { dateTime } from '../format.js';
import type { Row } from '../sdk.js';
import { Subscriptions, title, type View } from '../view.js';

let lastSearch = '';
let lastSegment = '';

function words(s: string): string[] {
  return s.toLowerCase().split(/\s+/).filter(Boolean);
}

export function accountMatcher(text: string, segment: string): (row: Row) => boolean {
  const terms = words(text);
  return (row) => {
    if (segment && row.segment !== segment) return false;
    if (terms.length === 0) return true;
    const hay = `${String(row.name ?? '')} ${String(row.city ?? '')} ${String(row.specialty ?? '')}`.toLowerCase();
    // Every term starts a word of the name, city or specialty.
    return terms.every((t) => hay.startsWith(t) || hay.includes(` ${t}`) || hay.includes(`-${t}`));
  };
}

export const accountsView: View = (root, ctx) => {
  title('Accounts');
  const subs = new Subscriptions();
  const input = h('input', {
    type: 'search',
    id: 'account-search',
    class: 'search',
    placeholder: 'Name, city or specialty',
    autocomplete: 'off',
    value: lastSearch,
    'aria-controls': 'account-results',
  });
  const segments = h('div', { class: 'chips', role: 'group', 'aria-label': 'Segment' });
  const results = h('ul', { class: 'list', id: 'account-results', 'aria-live': 'polite' });
  const countLine = h('p', { class: 'muted', 'data-test': 'account-count' });
  fill(
    root,
    h(
      'div',
      { class: 'page' },
      h('h2', {}, 'Accounts'),
      h('label', { for: 'account-search', class: 'label' }, 'Search accounts'),
      input,
      segments,
      countLine,
      results,
    ),
  );
  const accounts = ctx.client.collection('accounts');
  const visits = ctx.client.collection('visits');
  let query = accounts.query(accountMatcher(lastSearch, lastSegment), 'name', { limit: 50 });
  let stop: (() => void) | null = null;
  const render = (rows: readonly Row[]): void => {
    const total = accounts.find(accountMatcher(lastSearch, lastSegment)).length;
    countLine.textContent = total === 0 ? 'No accounts match.' : total > rows.length ? `${rows.length} of ${total} accounts` : `${total} account${total === 1 ? '' : 's'}`;
    fill(
      results,
      rows.map((a) => {
        const last = visits.find({ account_id: String(a.id) }, { by: 'visited_at', desc: true }, { limit: 1 })[0];
        return h(
          'li',
          { 'data-account-id': String(a.id) },
          h(
            'a',
            { href: `#/accounts/${String(a.id)}`, class: 'row-link' },
            h('span', { class: 'row-title' }, String(a.name), ' ', h('span', { class: `seg seg-${String(a.segment)}`, title: `Segment ${String(a.segment)}` }, String(a.segment))),
            h('span', { class: 'row-sub' }, [String(a.kind), a.specialty ? String(a.specialty) : null, String(a.city)].filter(Boolean).join(' \u00b7 ')),
            last ? h('span', { class: 'row-sub' }, `Last visit ${dateTime(last.visited_at)}`) : null,
          ),
        );
      }),
    );
  };
  const run = (): void => {
    stop?.();
    query = accounts.query(accountMatcher(lastSearch, lastSegment), 'name', { limit: 50 });
    stop = query.subscribe(render, { immediate: true });
  };
  const renderSegments = (): void =>
    fill(
      segments,
      ['', 'A', 'B', 'C'].map((s) =>
        h(
          'button',
          {
            type: 'button',
            class: 'chip',
            'aria-pressed': String(lastSegment === s),
            onclick: () => {
              lastSegment = s;
              renderSegments();
              run();
            },
          },
          s ? `Segment ${s}` : 'All',
        ),
      ),
    );
  renderSegments();
  input.addEventListener('input', () => {
    lastSearch = input.value;
    run();
  });
  run();
  subs.add(() => stop?.());
  if (matchMedia('(min-width: 700px)').matches) input.focus();
  return subs.dispose;
};
