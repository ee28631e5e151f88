// Logging a visit (products discussed, samples left, notes, next steps) and editing one's
// notes and next steps. Both work offline: the SDK stores the edit durably before save()
// resolves, shows it at once, and sends it when it can. Logging a visit also counts it in
// this month's KPIs (kpis.ts).
import { fill, h, toast } from '../dom.js';
import { dateTime, jsonObject, label, stringArray } from '../format.js';
import { countVisit } from '../kpis.js';
import type { Row, Value } from '../sdk.js';
import { Subscriptions, title, type View, type ViewContext } from '../view.js';

// The demo's portfolio (storage/demo_vocabulary.cpp).
export const products = [
  'Cardiolex 10 mg',
  'Cardiolex 20 mg',
  'Thrombiva 5 mg',
  'Glucanta XR 500 mg',
  'Insulora pen',
  'Oncalyx 100 mg',
  'Respivair inhaler',
  'Neurovance 50 mg',
  'Immunora 40 mg pen',
  'Dermacort 0.1% cream',
  'Ostevia 70 mg',
];
const channels = ['in_person', 'phone', 'video', 'email'];

function localInputValue(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function field(id: string, text: string, control: HTMLElement, hint?: string): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: id, class: 'label' }, text), hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null, control);
}

function savedMessage(ctx: ViewContext, what: string): string {
  return ctx.client.status.connection === 'online' ? `${what} saved` : `${what} saved on this device; it syncs when you are back online`;
}

export const logVisitView: View = (root, ctx, [accountId]) => {
  title('Log a visit');
  const account = ctx.client.collection('accounts').get(String(accountId));
  if (!account) {
    fill(root, h('div', { class: 'page' }, h('p', {}, 'This account is not on this device.'), h('a', { href: '#/accounts' }, 'Accounts')));
    return;
  }
  const when = h('input', { type: 'datetime-local', id: 'visit-when', required: true, value: localInputValue(new Date()) });
  const channelGroup = h(
    'fieldset',
    { class: 'field' },
    h('legend', { class: 'label' }, 'Channel'),
    h(
      'div',
      { class: 'segmented' },
      channels.map((c, i) =>
        h('label', { class: 'segment' }, h('input', { type: 'radio', name: 'channel', value: c, checked: i === 0 }), h('span', {}, label(c))),
      ),
    ),
  );
  const sampleInputs = new Map<string, HTMLInputElement>();
  const productList = h(
    'fieldset',
    { class: 'field' },
    h('legend', { class: 'label' }, 'Products discussed and samples left'),
    h(
      'ul',
      { class: 'checks' },
      products.map((p, i) => {
        const samples = h('input', { type: 'number', min: 0, max: 99, step: 1, value: 0, inputmode: 'numeric', 'aria-label': `Samples of ${p} left`, class: 'samples', disabled: true });
        sampleInputs.set(p, samples);
        const box = h('input', { type: 'checkbox', id: `prod-${i}`, value: p });
        box.addEventListener('change', () => {
          samples.disabled = !box.checked;
          if (!box.checked) samples.value = '0';
        });
        return h('li', {}, h('label', { for: `prod-${i}`, class: 'check' }, box, h('span', {}, p)), samples);
      }),
    ),
  );
  const notes = h('textarea', { id: 'visit-notes', rows: 4, placeholder: 'What was discussed, questions, objections' });
  const next = h('textarea', { id: 'visit-next', rows: 2, placeholder: 'e.g. Send the study reprint' });
  const save = h('button', { type: 'submit', class: 'button primary block' }, 'Save visit');
  const form = h(
    'form',
    { class: 'form', 'aria-labelledby': 'visit-title' },
    field('visit-when', 'When', when),
    channelGroup,
    productList,
    field('visit-notes', 'Notes', notes),
    field('visit-next', 'Next steps', next),
    save,
    h('a', { href: `#/accounts/${String(accountId)}`, class: 'button block' }, 'Cancel'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      save.disabled = true;
      try {
        const at = new Date(when.value);
        if (Number.isNaN(at.getTime())) throw new Error('Please enter when the visit took place.');
        const discussed = products.filter((_, i) => (form.querySelector(`#prod-${i}`) as HTMLInputElement).checked);
        const left: Record<string, Value> = {};
        let samples = 0;
        for (const p of discussed) {
          const n = Math.max(0, Math.min(99, Math.floor(Number(sampleInputs.get(p)?.value ?? 0) || 0)));
          if (n > 0) {
            left[p] = n;
            samples += n;
          }
        }
        const channel = (form.querySelector('input[name=channel]:checked') as HTMLInputElement | null)?.value ?? 'in_person';
        const id = crypto.randomUUID();
        const visit: Row = {
          id,
          account_id: String(account.id),
          rep_id: ctx.session.claims.rep_id,
          territory_id: account.territory_id as Value,
          visited_at: at.toISOString(),
          channel,
          products_discussed: discussed,
          samples_left: left,
          notes: notes.value.trim() || null,
          next_steps: next.value.trim() || null,
          updated_at: new Date().toISOString(),
        };
        await ctx.client.collection('visits').insert(visit);
        await countVisit(ctx.client, ctx.session.claims.rep_id, at, samples);
        toast(savedMessage(ctx, 'Visit'));
        ctx.go(`#/accounts/${String(account.id)}`);
      } catch (e) {
        toast(e instanceof Error ? e.message : String(e), 'error');
        save.disabled = false;
      }
    })();
  });
  fill(root, h('div', { class: 'page' }, h('a', { href: `#/accounts/${String(accountId)}`, class: 'back' }, `\u2190 ${String(account.name)}`), h('h2', { id: 'visit-title' }, 'Log a visit'), h('p', { class: 'muted' }, String(account.name)), form));
};

// A visit: what was recorded, and its notes and next steps to edit. Somebody else may
// have changed them meanwhile: the server then refuses the edit (visits.notes and
// next_steps merge with "reject") and it lands in the conflicts inbox.
export const visitView: View = (root, ctx, [id]) => {
  const subs = new Subscriptions();
  const key = String(id);
  const visits = ctx.client.collection('visits');
  const box = h('div');
  fill(root, h('div', { class: 'page' }, box));
  let rendered = false;
  const live = visits.query({ id: key });
  subs.add(
    live.subscribe(
      (rows) => {
        const v = rows[0];
        if (!v) {
          fill(box, h('p', {}, 'This visit is not on this device.'), h('a', { href: '#/' }, 'Dashboard'));
          return;
        }
        if (rendered) return; // keep what the user is typing; the inbox handles refusals
        rendered = true;
        const account = ctx.client.collection('accounts').get(String(v.account_id));
        title('Visit');
        const notes = h('textarea', { id: 'edit-notes', rows: 5 });
        notes.value = typeof v.notes === 'string' ? v.notes : '';
        const next = h('textarea', { id: 'edit-next', rows: 2 });
        next.value = typeof v.next_steps === 'string' ? v.next_steps : '';
        const save = h('button', { type: 'submit', class: 'button primary block' }, 'Save changes');
        const form = h('form', { class: 'form' }, field('edit-notes', 'Notes', notes), field('edit-next', 'Next steps', next), save);
        form.addEventListener('submit', (ev) => {
          ev.preventDefault();
          void (async () => {
            const current = visits.get(key);
            if (!current) return;
            const changes: Record<string, Value> = {};
            const n = notes.value.trim() || null;
            const s = next.value.trim() || null;
            if (n !== (current.notes ?? null)) changes.notes = n;
            if (s !== (current.next_steps ?? null)) changes.next_steps = s;
            if (Object.keys(changes).length === 0) {
              ctx.go(`#/accounts/${String(v.account_id)}`);
              return;
            }
            changes.updated_at = new Date().toISOString();
            save.disabled = true;
            try {
              await visits.update(key, changes);
              toast(savedMessage(ctx, 'Visit'));
              ctx.go(`#/accounts/${String(v.account_id)}`);
            } catch (e) {
              toast(e instanceof Error ? e.message : String(e), 'error');
              save.disabled = false;
            }
          })();
        });
        const samples = Object.entries(jsonObject(v.samples_left));
        fill(
          box,
          h('a', { href: `#/accounts/${String(v.account_id)}`, class: 'back' }, `\u2190 ${String(account?.name ?? 'Account')}`),
          h('h2', {}, `Visit, ${dateTime(v.visited_at)}`),
          h(
            'dl',
            { class: 'facts' },
            h('dt', {}, 'Channel'),
            h('dd', {}, label(String(v.channel))),
            h('dt', {}, 'Products'),
            h('dd', {}, stringArray(v.products_discussed).join(', ') || '\u2014'),
            h('dt', {}, 'Samples left'),
            h('dd', {}, samples.length ? samples.map(([p, n]) => `${p}: ${String(n)}`).join(', ') : '\u2014'),
          ),
          form,
        );
      },
      { immediate: true },
    ),
  );
  return subs.dispose;
};
