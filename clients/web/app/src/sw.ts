/// <reference lib="webworker" />
// The app's service worker, written for this app (no generator): it caches the app shell
// only, never an API answer.
//
// - install: precaches the build's shell (index.html, the hashed script and style, the
//   manifest, the icons) into a cache named after the build's version; a new version
//   installs next to the old one and waits.
// - activate: drops the caches of other versions, takes control of open pages.
// - fetch: navigations get the cached index.html (the app routes by hash), so the app
//   starts offline and fast; other shell files come from the cache, else the network.
//   Everything under /v1/ (sync, pulls, mutations), /healthz and other origins is not
//   touched: the SDK talks to the server directly and keeps its own data in IndexedDB.
// - message "skip-waiting": the page's update banner (pwa.ts) activates the new version
//   when the user asks for it.
// - sync "fieldsync-outbox" (Background Sync): sends the edits a closed page left
//   pending, with the SDK's flushOutbox(), which does nothing while a tab of the app is
//   open (that tab sends them itself).
import { flushOutbox } from '../../sdk/flush.js';

declare const self: ServiceWorkerGlobalScope;
declare const __APP_VERSION__: string;
declare const __PRECACHE__: string[];

const prefix = 'fieldsync-app-';
const cacheName = prefix + __APP_VERSION__;
const shell = '/index.html';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(cacheName).then((cache) => cache.addAll(__PRECACHE__.map((url) => new Request(url, { cache: 'reload' })))),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(prefix) && name !== cacheName) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

function apiPath(path: string): boolean {
  return path.startsWith('/v1/') || path === '/healthz' || path.startsWith('/admin');
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || apiPath(url.pathname)) return;
  if (req.mode === 'navigate') {
    event.respondWith(
      (async () => {
        const cached = await caches.match(shell, { cacheName });
        return cached ?? fetch(req);
      })(),
    );
    return;
  }
  event.respondWith(
    (async () => {
      const cached = await caches.match(req, { cacheName });
      return cached ?? fetch(req);
    })(),
  );
});

self.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'skip-waiting') void self.skipWaiting();
});

interface SyncEvent extends ExtendableEvent {
  readonly tag: string;
}

// The signed-in user's client name and token, written by the page (session.ts).
function readSession(): Promise<{ token: string; name: string } | undefined> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('fieldsync-app', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('kv');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const get = db.transaction('kv', 'readonly').objectStore('kv').get('session');
      get.onsuccess = () => {
        db.close();
        resolve(get.result as { token: string; name: string } | undefined);
      };
      get.onerror = () => {
        db.close();
        reject(get.error);
      };
    };
  });
}

self.addEventListener('sync', (ev) => {
  const event = ev as SyncEvent;
  if (event.tag !== 'fieldsync-outbox') return;
  event.waitUntil(
    (async () => {
      const session = await readSession();
      if (!session) return;
      // A rejection makes the browser retry this sync later (network down, server busy).
      const r = await flushOutbox({ name: session.name, getToken: () => session.token, waitForLeaderMs: 60_000 });
      console.info('fieldsync sw: background sync', JSON.stringify(r));
    })(),
  );
});
