// The conflicts inbox: edits the server refused (a visit's notes changed by somebody else
// meanwhile, a row deleted, ...), each with what the device tried to write and what the
// server holds, and two ways out: keep theirs (dismiss), or re-apply mine (the same
// values as a new edit on top of the current row, then dismiss).
import { fill, h, toast } from '../dom.js';
import { dateTime, label } from '../format.js';
import type { Conflict, Row, Value } from '../sdk.js';
import { title, type View, type ViewContext } from '../view.js';

const show = (v: Value | undefined): string => {
  if (v === null || v === undefined || v === '') return '(empty)';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
};

// The fields to compare: those the server named, else those the edit set.
function fieldsOf(c: Conflict): string[] {
  if (c.fields.length) return c.fields;
  return Object.keys(c.rejected ?? {}).filter((f) => f !== 'updated_at');
}

function subject(ctx: ViewContext, c: Conflict): string {
  const row: Row | null | undefined = c.serverRow ?? ctx.client.collection(c.collection).get(c.key);
  if (c.collection === 'visits' && row) {
    const account = ctx.client.collection('accounts').get(String(row.account_id));
    return `the visit at ${String(account?.name ?? 'an account')} on ${dateTime(row.visited_at)}`;
  }
  if (c.collection === 'opportunities' && row) return `the opportunity \u201c${String(row.name)}\u201d`;
  if (c.collection === 'accounts' && row) return `the account ${String(row.name)}`;
  return `${c.collection} ${c.key}`;
}

export const inboxView: View = (root, ctx) => {
  title('Conflicts');
  const list = h('div', { 'data-test': 'conflicts' });
  fill(
    root,
    h(
      'div',
      { class: 'page' },
      h('h2', {}, 'Conflicts'),
      h('p', { class: 'muted' }, 'Edits the server refused because somebody changed the same thing first. Choose which version stays.'),
      list,
    ),
  );
  const render = (): void => {
    const items = [...ctx.client.conflicts()].sort((a, b) => b.at - a.at);
    if (items.length === 0) {
      fill(list, h('p', { class: 'empty' }, 'No conflicts. Everything you changed was accepted.'));
      return;
    }
    fill(
      list,
      items.map((c) => {
        const fields = fieldsOf(c);
        const canReapply = c.op === 'update' && c.serverRow !== null && fields.length > 0;
        const keep = h('button', { type: 'button', class: 'button', 'data-action': 'keep' }, 'Keep theirs');
        const mine = h('button', { type: 'button', class: 'button primary', 'data-action': 'reapply', disabled: !canReapply }, 'Re-apply mine');
        keep.addEventListener('click', () => void ctx.client.dismissConflict(c.id).then(render));
        mine.addEventListener('click', () => {
          void (async () => {
            const changes: Record<string, Value> = {};
            for (const f of fields) changes[f] = (c.rejected ?? {})[f] ?? null;
            try {
              await ctx.client.collection(c.collection).update(c.key, changes);
              await ctx.client.dismissConflict(c.id);
              toast('Your version was applied again');
            } catch (e) {
              toast(e instanceof Error ? e.message : String(e), 'error');
            }
            render();
          })();
        });
        return h(
          'article',
          { class: 'conflict', 'data-conflict-id': String(c.id), 'aria-label': `Conflict on ${subject(ctx, c)}` },
          h('h3', {}, `Your edit to ${subject(ctx, c)} was refused`),
          h('p', { class: 'muted small' }, `${c.message} (${c.code}) \u00b7 ${dateTime(new Date(c.at).toISOString())}`),
          fields.map((f) =>
            h(
              'div',
              { class: 'versions', 'data-field': f },
              h('h4', {}, label(f)),
              h('div', { class: 'version mine' }, h('span', { class: 'who' }, 'Yours'), h('p', { 'data-test': 'mine' }, show((c.rejected ?? {})[f]))),
              h('div', { class: 'version theirs' }, h('span', { class: 'who' }, 'Theirs'), h('p', { 'data-test': 'theirs' }, show(c.serverRow ? c.serverRow[f] : null))),
            ),
          ),
          h('div', { class: 'actions' }, keep, mine),
        );
      }),
    );
  };
  const off = ctx.client.on('status', () => {
    if (list.querySelectorAll('.conflict').length !== ctx.client.conflicts().length) render();
  });
  render();
  return off;
};
