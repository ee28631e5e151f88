// Sync details: connection, what waits to be sent, each collection's state, storage, who
// is signed in (the token's claims), and signing out.
import { fill, h } from '../dom.js';
import { clock, count, label } from '../format.js';
import type { SyncStatus } from '../sdk.js';
import { title, type View } from '../view.js';

export const statusView: View = (root, ctx) => {
  title('Sync');
  const box = h('div');
  const c = ctx.session.claims;
  const signOut = h('button', { type: 'button', class: 'button danger block' }, 'Sign out');
  signOut.addEventListener('click', () => void signOutNow(ctx.client.status.pending, ctx));
  fill(
    root,
    h(
      'div',
      { class: 'page' },
      h('h2', {}, 'Sync'),
      box,
      h('h3', {}, 'Signed in'),
      h(
        'dl',
        { class: 'facts', 'data-test': 'claims' },
        h('dt', {}, 'Subject'),
        h('dd', {}, c.sub),
        h('dt', {}, 'Role'),
        h('dd', {}, label(c.role)),
        h('dt', {}, 'Region'),
        h('dd', {}, c.region),
        h('dt', {}, 'Territories'),
        h('dd', {}, c.territories.join(', ')),
        h('dt', {}, 'Rep id'),
        h('dd', {}, String(c.rep_id)),
        c.exp ? [h('dt', {}, 'Token valid until'), h('dd', {}, new Date(c.exp * 1000).toLocaleString())] : null,
      ),
      signOut,
    ),
  );
  const render = (s: SyncStatus): void => {
    const pending = ctx.client.pendingMutations().filter((m) => m.state === 'pending');
    fill(
      box,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Connection'),
        h('dd', { 'data-test': 'connection' }, `${label(s.connection)} (${s.role} tab)`),
        h('dt', {}, 'Edits to send'),
        h('dd', {}, String(s.pending)),
        h('dt', {}, 'Refused edits'),
        h('dd', {}, s.conflicts ? h('a', { href: '#/inbox' }, String(s.conflicts)) : '0'),
        h('dt', {}, 'Storage'),
        h('dd', {}, s.storage.persisted ? 'persistent' : 'best effort (the browser may evict it)', s.storage.usage !== null ? ` \u00b7 ${count(Math.round(s.storage.usage / 1024))} KiB used` : ''),
        h('dt', {}, 'Device id'),
        h('dd', { class: 'mono' }, ctx.client.clientId),
      ),
      h(
        'table',
        { class: 'team-table' },
        h('caption', {}, 'Collections'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Collection'), h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Rows'), h('th', { scope: 'col' }, 'Caught up'))),
        h(
          'tbody',
          {},
          Object.entries(s.collections).map(([name, st]) =>
            h('tr', {}, h('th', { scope: 'row' }, name), h('td', {}, st.error ? `error: ${st.error}` : label(st.phase)), h('td', {}, count(st.rows)), h('td', {}, st.lastSyncedAt ? clock(st.lastSyncedAt) : '\u2014')),
          ),
        ),
      ),
      pending.length
        ? h('div', {}, h('h3', {}, 'Waiting to be sent'), h('ul', { class: 'list' }, pending.map((m) => h('li', { class: 'row-sub' }, `#${m.mutationId} ${m.op} ${m.collection} \u00b7 ${clock(m.createdAt)}`))))
        : null,
      h('button', { type: 'button', class: 'button block', onclick: () => ctx.client.reconnectNow() }, 'Sync now'),
    );
  };
  const off = ctx.client.on('status', render);
  render(ctx.client.status);
  return off;
};

async function signOutNow(pending: number, ctx: Parameters<View>[1]): Promise<void> {
  if (pending > 0 && !confirm(`${pending} edit(s) have not reached the server yet and would be lost. Sign out anyway?`)) return;
  const { clearSession, clientName } = await import('../session.js');
  await ctx.client.close();
  await new Promise<void>((resolve) => {
    const r = indexedDB.deleteDatabase(`fieldsync:${clientName(ctx.session.claims)}`);
    r.onsuccess = r.onerror = r.onblocked = () => resolve();
  });
  await clearSession();
  location.hash = '#/';
  location.reload();
}
