// Sign-in for the demo: paste a token (fieldsync dev prints sign-in links that carry one),
// see the claims it holds, continue. A real deployment gets the token from its identity
// provider instead; the SDK only needs getToken().
import { fill, h } from '../dom.js';
import { decodeClaims, expired } from '../session.js';

export function signInView(root: HTMLElement, onToken: (token: string) => void, message?: string): void {
  document.title = 'Sign in \u00b7 Fieldsync';
  const area = h('textarea', { id: 'token', rows: 5, spellcheck: false, autocomplete: 'off', 'aria-describedby': 'token-hint', class: 'mono' });
  const claims = h('div', { 'aria-live': 'polite' });
  const go = h('button', { type: 'submit', class: 'button primary block', disabled: true }, 'Sign in');
  const form = h(
    'form',
    { class: 'form' },
    h('label', { for: 'token', class: 'label' }, 'Access token'),
    h('p', { class: 'hint', id: 'token-hint' }, 'fieldsync dev prints a sign-in link for a rep and one for a manager; or mint one with fieldsync token.'),
    area,
    claims,
    go,
  );
  const check = (): void => {
    const c = decodeClaims(area.value.trim());
    go.disabled = !c || expired(c);
    fill(
      claims,
      !area.value.trim()
        ? null
        : !c
          ? h('p', { class: 'error' }, 'This is not a token with the demo\u2019s claims (sub, rep_id, territories).')
          : h(
              'dl',
              { class: 'facts', 'data-test': 'claims' },
              h('dt', {}, 'Subject'),
              h('dd', {}, c.sub),
              h('dt', {}, 'Role'),
              h('dd', {}, c.role),
              h('dt', {}, 'Region'),
              h('dd', {}, c.region),
              h('dt', {}, 'Territories'),
              h('dd', {}, c.territories.join(', ')),
              c.exp ? [h('dt', {}, 'Valid until'), h('dd', {}, new Date(c.exp * 1000).toLocaleString(), expired(c) ? ' (expired)' : '')] : null,
            ),
    );
  };
  area.addEventListener('input', check);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    onToken(area.value.trim());
  });
  fill(root, h('div', { class: 'page narrow' }, h('h2', {}, 'Sign in'), message ? h('p', { class: 'error', role: 'alert' }, message) : null, form));
}
