// The sync indicator, always visible in the header: online/offline, edits waiting to be
// sent, when the data was last known to be current. "Live" means connected with every
// collection caught up; offline it says since when the data is as shown.
import { h, setText } from './dom.js';
import { ago, clock } from './format.js';
import type { FieldsyncClient, SyncStatus } from './sdk.js';

export function syncIndicator(client: FieldsyncClient, onOpen: () => void): { el: HTMLElement; dispose: () => void } {
  const dot = h('span', { class: 'dot', 'aria-hidden': 'true' });
  const state = h('span', { class: 'sync-state', 'data-test': 'sync-state' });
  const detail = h('span', { class: 'sync-detail', 'data-test': 'sync-detail' });
  const el = h('button', { type: 'button', class: 'sync', 'aria-label': 'Sync status', onclick: onOpen }, dot, h('span', { class: 'sync-text' }, state, detail));
  let lastLive: number | null = null;
  let current: SyncStatus = client.status;

  const render = (): void => {
    const s = current;
    const cols = Object.values(s.collections);
    const allLive = cols.length > 0 && cols.every((c) => c.phase === 'live');
    const connected = s.connection === 'online' || s.connection === 'http';
    if (connected && allLive) lastLive = Date.now();
    const known = Math.max(lastLive ?? 0, s.lastSyncedAt ?? 0) || null;
    let mode: string;
    let text: string;
    if (!connected) {
      mode = s.connection === 'connecting' ? 'connecting' : 'offline';
      text = s.connection === 'connecting' ? 'Connecting\u2026' : 'Offline';
    } else if (!allLive) {
      mode = 'syncing';
      text = 'Syncing\u2026';
    } else {
      mode = 'live';
      text = s.connection === 'http' ? 'Live (HTTP)' : 'Live';
    }
    el.dataset.mode = mode;
    el.dataset.pending = String(s.pending);
    setText(state, text);
    const parts: string[] = [];
    if (s.pending > 0) parts.push(`${s.pending} edit${s.pending === 1 ? '' : 's'} to send`);
    else parts.push('all edits sent');
    if (mode !== 'live' && known) parts.push(`synced ${ago(known)}`);
    if (s.conflicts > 0) parts.push(`${s.conflicts} refused`);
    setText(detail, parts.join(' \u00b7 '));
    el.title = known ? `Data current as of ${clock(known)}` : 'Not synced yet';
  };
  const off = client.on('status', (s) => {
    current = s;
    render();
  });
  const timer = setInterval(render, 15_000);
  render();
  return {
    el,
    dispose: () => {
      off();
      clearInterval(timer);
    },
  };
}
