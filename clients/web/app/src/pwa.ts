// The page's side of the service worker (sw.ts): registration, the update flow (a new
// version waits until the user chooses to reload; it never swaps the app under them),
// and Background Sync, asked for whenever edits wait to be sent, so a page closed with
// pending edits has them sent by the service worker once the browser is online again.
// Where the browser has no Background Sync, the app sends them the next time it opens.
import { h } from './dom.js';

export const syncTag = 'fieldsync-outbox';
let registration: ServiceWorkerRegistration | null = null;

interface SyncManager {
  register(tag: string): Promise<void>;
}

export async function registerServiceWorker(banner: HTMLElement): Promise<void> {
  if (!('serviceWorker' in navigator)) return;
  try {
    registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  } catch (e) {
    console.warn('fieldsync app: no service worker', e);
    return;
  }
  const reg = registration;
  const offer = (): void => {
    if (!reg.waiting || !navigator.serviceWorker.controller || banner.querySelector('.update')) return;
    const button = h('button', { type: 'button', class: 'button primary' }, 'Reload');
    let reloading = false;
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      if (reloading) location.reload();
    });
    button.addEventListener('click', () => {
      reloading = true;
      reg.waiting?.postMessage({ type: 'skip-waiting' });
    });
    banner.appendChild(h('div', { class: 'banner update', role: 'status', 'data-test': 'update-ready' }, h('span', {}, 'A new version of the app is ready.'), button));
  };
  offer();
  reg.addEventListener('updatefound', () => {
    const w = reg.installing;
    w?.addEventListener('statechange', () => {
      if (w.state === 'installed') offer();
    });
  });
  // Look for a new version now and then, and when the app comes back to the front.
  setInterval(() => void reg.update().catch(() => {}), 30 * 60_000);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void reg.update().catch(() => {});
  });
}

export async function requestBackgroundSync(): Promise<boolean> {
  const reg = registration ?? (await navigator.serviceWorker?.getRegistration().catch(() => undefined)) ?? null;
  const sync = (reg as (ServiceWorkerRegistration & { sync?: SyncManager }) | null)?.sync;
  if (!sync) return false;
  try {
    await sync.register(syncTag);
    return true;
  } catch {
    return false; // permission denied, or the browser does not allow it here
  }
}
