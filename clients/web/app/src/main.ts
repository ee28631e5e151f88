// The field-sales PWA: boots the shell, signs in, opens the SDK client for the user and
// routes between the views (hash routes, so the static server needs no fallback and the
// service worker's one cached shell serves every screen offline).
import './styles.css';
import { fill, h, toast } from './dom.js';
import { openData, type AppData } from './data.js';
import { registerServiceWorker, requestBackgroundSync } from './pwa.js';
import { expired, loadSession, saveSession, takeTokenFromLocation } from './session.js';
import { syncIndicator } from './sync_indicator.js';
import type { View, ViewContext } from './view.js';
import { accountView } from './views/account.js';
import { accountsView } from './views/accounts.js';
import { dashboardView } from './views/dashboard.js';
import { dealView } from './views/deal.js';
import { dealsView } from './views/deals.js';
import { inboxView } from './views/inbox.js';
import { signInView } from './views/signin.js';
import { statusView } from './views/status.js';
import { repView, teamView } from './views/team.js';
import { logVisitView, visitView } from './views/visit_form.js';

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const syncSlot = document.getElementById('sync-slot') as HTMLElement;
const banner = document.getElementById('banner') as HTMLElement;

type Route = [RegExp, View];
const repRoutes: Route[] = [
  [/^\/?$/, dashboardView],
  [/^\/accounts$/, accountsView],
  [/^\/accounts\/([^/]+)$/, accountView],
  [/^\/accounts\/([^/]+)\/visit$/, logVisitView],
  [/^\/visits\/([^/]+)$/, visitView],
  [/^\/deals$/, dealsView],
  [/^\/deals\/([^/]+)$/, dealView],
  [/^\/inbox$/, inboxView],
  [/^\/sync$/, statusView],
];
const managerRoutes: Route[] = [
  [/^\/?$/, teamView],
  [/^\/team\/([^/]+)$/, repView],
  [/^\/inbox$/, inboxView],
  [/^\/sync$/, statusView],
];

function navItems(data: AppData): [string, string][] {
  return data.role === 'manager'
    ? [['#/', 'Team'], ['#/inbox', 'Conflicts'], ['#/sync', 'Sync']]
    : [['#/', 'Dashboard'], ['#/accounts', 'Accounts'], ['#/deals', 'Deals'], ['#/inbox', 'Conflicts']];
}

function renderNav(data: AppData, path: string): void {
  const conflicts = data.client.status.conflicts;
  fill(
    nav,
    h(
      'ul',
      {},
      navItems(data).map(([href, text]) => {
        const here = href === '#/' ? path === '/' || path === '' : path.startsWith(href.slice(1));
        return h(
          'li',
          {},
          h(
            'a',
            { href, 'aria-current': here ? 'page' : null, 'data-nav': text.toLowerCase() },
            text,
            href === '#/inbox' && conflicts > 0 ? h('span', { class: 'count', 'aria-label': `${conflicts} conflicts` }, String(conflicts)) : null,
          ),
        );
      }),
    ),
  );
}

async function start(): Promise<void> {
  void registerServiceWorker(banner);
  const linked = takeTokenFromLocation();
  if (linked) {
    if (!(await saveSession(linked))) toast('The sign-in link holds no usable token.', 'error');
  }
  const session = loadSession();
  if (!session || expired(session.claims)) {
    signInView(main, (token) => {
      void saveSession(token).then((s) => {
        if (s) location.reload();
        else toast('This token cannot be used.', 'error');
      });
    }, session ? 'Your session has expired: sign in again.' : undefined);
    document.body.dataset.state = 'signed-out';
    return;
  }
  const data = await openData(session, () => {
    if (!banner.querySelector('.expired')) {
      banner.appendChild(h('div', { class: 'banner expired', role: 'alert' }, 'The server refused your token. Your edits are kept on this device; ', h('a', { href: '#/sync' }, 'sign in again'), ' to send them.'));
    }
  });
  const indicator = syncIndicator(data.client, () => (location.hash = '#/sync'));
  fill(syncSlot, indicator.el);
  const ctx: ViewContext = {
    ...data,
    go: (path) => {
      location.hash = path;
    },
    me: () => data.client.collection('reps').get(String(session.claims.rep_id)),
  };
  document.getElementById('who')!.textContent = `${session.claims.role === 'manager' ? 'Manager' : 'Rep'} \u00b7 ${session.claims.region}`;

  let cleanup: (() => void) | void;
  const route = (): void => {
    const path = location.hash.replace(/^#/, '') || '/';
    cleanup?.();
    cleanup = undefined;
    const routes = data.role === 'manager' ? managerRoutes : repRoutes;
    const found = routes.find(([re]) => re.test(path));
    if (found) {
      const params = (found[0].exec(path) ?? []).slice(1).map((p) => decodeURIComponent(p));
      cleanup = found[1](main, ctx, params);
    } else {
      fill(main, h('div', { class: 'page' }, h('h2', {}, 'Not found'), h('a', { href: '#/' }, 'Home')));
    }
    renderNav(data, path);
    main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  };
  window.addEventListener('hashchange', route);
  route();

  let lastConflicts = data.client.status.conflicts;
  data.client.on('status', (s) => {
    if (s.conflicts !== lastConflicts) {
      lastConflicts = s.conflicts;
      renderNav(data, location.hash.replace(/^#/, '') || '/');
    }
    if (s.pending > 0 && s.connection !== 'online') void requestBackgroundSync();
  });
  data.client.on('conflict', () => toast('An edit was refused: see Conflicts', 'error'));
  data.client.on('warning', (w) => toast(w.message));
  // Edits still waiting when the page goes away: the service worker sends them.
  const leaving = (): void => {
    if (data.client.status.pending > 0) void requestBackgroundSync();
  };
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') leaving();
  });
  window.addEventListener('pagehide', leaving);
  document.body.dataset.state = 'ready';
  // The app object for the browser tests and for curious developers' consoles.
  (window as unknown as { fieldsyncApp: AppData }).fieldsyncApp = data;
}

start().catch((e: unknown) => {
  console.error(e);
  fill(main, h('div', { class: 'page' }, h('h2', {}, 'The app could not start'), h('p', { class: 'error' }, String(e))));
});
