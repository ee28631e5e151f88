// The bearer token: asked again when it expires and after the server refused it; one
// request for concurrent callers.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { jwtExpiry, TokenSource, type TokenReason } from '../sdk/tokens.js';

const jwt = (exp: number) =>
  `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'rep-7', exp })).toString('base64url')}.sig`;

test('a token is kept until it is about to expire or refused, and asked once for concurrent callers', async () => {
  let now = 1_000_000;
  const reasons: TokenReason[] = [];
  let n = 0;
  const source = new TokenSource(
    async (reason) => {
      reasons.push(reason);
      n++;
      return jwt(Math.floor(now / 1000) + 120);
    },
    () => now,
  );
  const [a, b] = await Promise.all([source.get(), source.get()]);
  assert.equal(a, b);
  assert.equal(n, 1);
  assert.equal(jwtExpiry(a), (Math.floor(1_000_000 / 1000) + 120) * 1000);
  now += 60_000;
  assert.equal(await source.get(), a, 'still valid for a minute');
  now += 40_000; // within the 30 s margin of its exp
  const c = await source.get();
  assert.notEqual(c, a);
  source.refused();
  await source.get();
  assert.deepEqual(reasons, ['initial', 'expired', 'refused']);
});

test('a token that is not a readable JWT is used until the server refuses it', async () => {
  let calls = 0;
  const source = new TokenSource(() => `opaque-${++calls}`);
  assert.equal(await source.get(), 'opaque-1');
  assert.equal(await source.get(), 'opaque-1');
  source.refused();
  assert.equal(await source.get(), 'opaque-2');
  await assert.rejects(new TokenSource(() => '').get(), /no token/);
});
