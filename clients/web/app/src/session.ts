// Who is signed in: the bearer token (a JWT; in the demo, pasted or carried in the sign-in
// link's fragment) and the claims it carries. The token is kept in localStorage for the
// pages and in a small IndexedDB database for the service worker, which sends pending
// edits with it when Background Sync wakes it (sw.ts).
export interface Claims {
  sub: string;
  rep_id: number;
  territories: number[];
  reps?: number[];
  role: 'rep' | 'manager';
  region: string;
  exp?: number;
}

export interface Session {
  token: string;
  claims: Claims;
}

const storageKey = 'fieldsync-app:token';
export const appDatabase = 'fieldsync-app';

export function decodeClaims(token: string): Claims | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const c = JSON.parse(json) as Partial<Claims>;
    if (typeof c.sub !== 'string' || typeof c.rep_id !== 'number' || !Array.isArray(c.territories)) return null;
    return {
      sub: c.sub,
      rep_id: c.rep_id,
      territories: c.territories.filter((t): t is number => typeof t === 'number'),
      ...(Array.isArray(c.reps) ? { reps: c.reps.filter((r): r is number => typeof r === 'number') } : {}),
      role: c.role === 'manager' ? 'manager' : 'rep',
      region: typeof c.region === 'string' ? c.region : '',
      ...(typeof c.exp === 'number' ? { exp: c.exp } : {}),
    };
  } catch {
    return null;
  }
}

// The SDK database of a user: one per subject, so another person signing in on the same
// device never sees (or sends) the previous one's data and edits.
export function clientName(claims: Claims): string {
  return `user-${claims.sub}`;
}

export function loadSession(): Session | null {
  const token = localStorage.getItem(storageKey);
  if (!token) return null;
  const claims = decodeClaims(token);
  return claims ? { token, claims } : null;
}

// A token in the location's fragment ("#token=..."), removed from the address bar.
export function takeTokenFromLocation(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m || !m[1]) return null;
  history.replaceState(null, '', location.pathname + location.search + '#/');
  return decodeURIComponent(m[1]);
}

function openAppDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(appDatabase, 1);
    r.onupgradeneeded = () => r.result.createObjectStore('kv');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function putKv(key: string, value: unknown): Promise<void> {
  const db = await openAppDb();
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction('kv', 'readwrite');
    if (value === undefined) tx.objectStore('kv').delete(key);
    else tx.objectStore('kv').put(value, key);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

export async function saveSession(token: string): Promise<Session | null> {
  const claims = decodeClaims(token);
  if (!claims) return null;
  localStorage.setItem(storageKey, token);
  await putKv('session', { token, name: clientName(claims) });
  return { token, claims };
}

export async function clearSession(): Promise<void> {
  localStorage.removeItem(storageKey);
  await putKv('session', undefined);
}

export function expired(claims: Claims, now = Date.now()): boolean {
  return claims.exp !== undefined && claims.exp * 1000 <= now;
}
