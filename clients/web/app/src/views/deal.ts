// Editing an opportunity: its stage on the pipeline, amount, closing date and the
// MEDDPICC qualification. Only the fields changed are sent (each merges last-writer-wins
// on the server), so two people editing different fields of a deal both keep theirs.
import { fill, h, toast } from '../dom.js';
import { cents, centsText, label } from '../format.js';
import type { Row, Value } from '../sdk.js';
import { Subscriptions, title, type View } from '../view.js';
import { stages } from './deals.js';

export const meddpicc: [string, string, string][] = [
  ['metrics', 'Metrics', 'The measurable gain the customer expects'],
  ['economic_buyer', 'Economic buyer', 'Who controls the budget'],
  ['decision_criteria', 'Decision criteria', 'How they will compare the options'],
  ['decision_process', 'Decision process', 'Who decides, in which steps'],
  ['paper_process', 'Paper process', 'Contracts, tenders, purchase orders'],
  ['identify_pain', 'Identified pain', 'The problem that makes them act'],
  ['champion', 'Champion', 'Who sells for us inside the account'],
  ['competition', 'Competition', 'Alternatives, including doing nothing'],
];

export const dealView: View = (root, ctx, [id]) => {
  const subs = new Subscriptions();
  const key = String(id);
  const opps = ctx.client.collection('opportunities');
  const box = h('div');
  fill(root, h('div', { class: 'page' }, h('a', { href: '#/deals', class: 'back' }, '\u2190 Opportunities'), box));
  let shownFor: Row | null = null;
  const live = opps.query({ id: key });
  subs.add(
    live.subscribe(
      (rows) => {
        const o = rows[0];
        if (!o) {
          fill(box, h('p', {}, 'This opportunity is not on this device.'));
          return;
        }
        if (shownFor) return; // keep the user's typing; changes from others show after saving
        shownFor = o;
        title(String(o.name));
        const account = ctx.client.collection('accounts').get(String(o.account_id));
        let stage = String(o.stage);
        const stageButtons = stages.map((s) =>
          h('button', { type: 'button', class: 'step', 'data-stage': s, 'aria-pressed': String(s === stage) }, label(s)),
        );
        for (const b of stageButtons) {
          b.addEventListener('click', () => {
            stage = b.dataset.stage ?? stage;
            for (const x of stageButtons) x.setAttribute('aria-pressed', String(x.dataset.stage === stage));
          });
        }
        const amount = h('input', { id: 'deal-amount', type: 'text', inputmode: 'decimal', value: centsText(cents(o.amount)), pattern: '\\d+(\\.\\d{1,2})?', required: true });
        const close = h('input', { id: 'deal-close', type: 'date', value: String(o.close_date), required: true });
        const inputs = new Map<string, HTMLTextAreaElement>();
        const filled = h('span', { class: 'muted' });
        const countFilled = (): void => {
          const n = [...inputs.values()].filter((t) => t.value.trim()).length;
          filled.textContent = `${n} of 8 known`;
        };
        const qual = meddpicc.map(([col, name, hint]) => {
          const t = h('textarea', { id: `m-${col}`, rows: 2, 'aria-describedby': `m-${col}-hint` });
          t.value = typeof o[col] === 'string' ? (o[col] as string) : '';
          t.addEventListener('input', countFilled);
          inputs.set(col, t);
          return h('div', { class: 'field' }, h('label', { for: `m-${col}`, class: 'label' }, name), h('p', { class: 'hint', id: `m-${col}-hint` }, hint), t);
        });
        countFilled();
        const save = h('button', { type: 'submit', class: 'button primary block' }, 'Save');
        const form = h(
          'form',
          { class: 'form' },
          h('fieldset', { class: 'field' }, h('legend', { class: 'label' }, 'Stage'), h('div', { class: 'steps' }, stageButtons)),
          h('div', { class: 'field' }, h('label', { for: 'deal-amount', class: 'label' }, 'Amount'), amount),
          h('div', { class: 'field' }, h('label', { for: 'deal-close', class: 'label' }, 'Closing date'), close),
          h('h3', {}, 'MEDDPICC ', filled),
          qual,
          save,
        );
        form.addEventListener('submit', (ev) => {
          ev.preventDefault();
          void (async () => {
            const current = opps.get(key);
            if (!current) return;
            if (!/^\d+(\.\d{1,2})?$/.test(amount.value.trim())) {
              toast('The amount is a number with at most two decimals.', 'error');
              amount.focus();
              return;
            }
            const changes: Record<string, Value> = {};
            if (stage !== current.stage) changes.stage = stage;
            const amountCents = cents(amount.value.trim());
            if (amountCents !== cents(current.amount)) changes.amount = centsText(amountCents);
            if (close.value !== current.close_date) changes.close_date = close.value;
            for (const [col, t] of inputs) {
              const v = t.value.trim() || null;
              if (v !== (current[col] ?? null)) changes[col] = v;
            }
            if (Object.keys(changes).length === 0) {
              ctx.go('#/deals');
              return;
            }
            changes.updated_at = new Date().toISOString();
            save.disabled = true;
            try {
              await opps.update(key, changes);
              toast(ctx.client.status.connection === 'online' ? 'Opportunity saved' : 'Opportunity saved on this device; it syncs when you are back online');
              ctx.go('#/deals');
            } catch (e) {
              toast(e instanceof Error ? e.message : String(e), 'error');
              save.disabled = false;
            }
          })();
        });
        fill(box, h('h2', {}, String(o.name)), account ? h('p', {}, h('a', { href: `#/accounts/${String(account.id)}` }, String(account.name))) : null, form);
      },
      { immediate: true },
    ),
  );
  return subs.dispose;
};
