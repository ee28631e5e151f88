// The page the browser tests drive: it records the WebSocket traffic (to check what the
// SDK sent, e.g. resuming with a cursor), starts a client with the token and options in
// the query string, and exposes it as window.fs for page.evaluate.
import { createClient } from '/e2e/fieldsync-client.js';

const sent = [];
const received = [];
const NativeWebSocket = window.WebSocket;
class RecordingWebSocket extends NativeWebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    this.addEventListener('message', (ev) => {
      try {
        const m = JSON.parse(ev.data);
        if (m.type === 'batch') received.push(...m.messages.map((x) => x.type));
        else received.push(m.type);
      } catch {
        received.push('?');
      }
    });
  }
  send(data) {
    try {
      sent.push(JSON.parse(data));
    } catch {
      sent.push(data);
    }
    super.send(data);
  }
}
window.WebSocket = RecordingWebSocket;

const params = new URLSearchParams(location.search);
const token = params.get('token');
const events = { conflicts: [], warnings: [], errors: [], statuses: 0 };
const client = await createClient({
  getToken: () => token,
  collections: JSON.parse(params.get('collections') ?? '{"accounts":{}}'),
  reconnectBaseMs: 100,
  reconnectCapMs: 1000,
  pingIntervalMs: 2000,
  pongTimeoutMs: 2000,
  ackGraceMs: 5000,
  WebSocket: RecordingWebSocket,
});
client.on('conflict', (c) => events.conflicts.push(c));
client.on('warning', (w) => events.warnings.push(w));
client.on('error', (e) => events.errors.push(e));
client.on('status', (s) => {
  events.statuses++;
  if (params.get('debug')) console.log('status', JSON.stringify({ c: s.connection, r: s.role, p: s.pending, cols: s.collections }));
});
if (params.get('debug')) {
  client.on('error', (e) => console.log('error', JSON.stringify(e)));
  client.on('warning', (e) => console.log('warning', JSON.stringify(e)));
}

// Reads the rows store of the client's database directly (what is on disk, not the view).
async function storedRows(collection) {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open('fieldsync:default');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const tx = db.transaction(['rows', 'subs'], 'readonly');
  const sub = await new Promise((r) => (tx.objectStore('subs').get(collection).onsuccess = (e) => r(e.target.result)));
  const range = IDBKeyRange.bound([collection, sub.gen], [collection, sub.gen, []]);
  const keys = await new Promise((r) => (tx.objectStore('rows').getAllKeys(range).onsuccess = (e) => r(e.target.result)));
  const values = await new Promise((r) => (tx.objectStore('rows').getAll(range).onsuccess = (e) => r(e.target.result)));
  db.close();
  return { sub, rows: keys.map((k, i) => ({ key: k[2], ...values[i] })) };
}

// Changes the stored rows behind the SDK's back, as a buggy app or a partial eviction
// would: one row's value altered, one row removed.
async function tamper(collection, changeKey, removeKey) {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open('fieldsync:default');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const tx = db.transaction(['rows', 'subs'], 'readwrite');
  const sub = await new Promise((r) => (tx.objectStore('subs').get(collection).onsuccess = (e) => r(e.target.result)));
  const store = tx.objectStore('rows');
  const row = await new Promise((r) => (store.get([collection, sub.gen, changeKey]).onsuccess = (e) => r(e.target.result)));
  store.put({ ...row, r: { ...row.r, name: 'tampered' } }, [collection, sub.gen, changeKey]);
  store.delete([collection, sub.gen, removeKey]);
  await new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

window.fs = { client, events, sent, received, storedRows, tamper };
document.getElementById('state').textContent = 'ready';
