import { createHmac } from 'node:crypto';

const b64url = (text) => Buffer.from(text).toString('base64url');

// An HS256 JWT with the key id fieldsync's [auth.keys.<kid>] names.
export function signToken(secret, kid, claims, ttlSeconds = 3600) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid }));
  const payload = b64url(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + ttlSeconds, ...claims }));
  const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${sig}`;
}
