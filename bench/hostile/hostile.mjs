// One hostile client per class of issue "Hardening", each for BENCH_HOSTILE_SECONDS
// against a running fieldsync, with the node's RSS and /healthz latency sampled meanwhile
// (every 100 ms, by probe.mjs in a process of its own) and, before each, for the same time
// without it. Prints one JSON line per
// class: {"attack", "healthz_p50_ms", "healthz_p99_ms", "healthz_failures", "rss_peak_mb",
// "base_..." (the same without the attack), "notes"}.
//
// Environment (bench/scenarios/hostile sets it): FIELDSYNC_URL, FIELDSYNC_WS_URL,
// FIELDSYNC_ADMIN_URL, FIELDSYNC_PID, BENCH_HOSTILE_SECRET (HS256 key "bench"),
// BENCH_PG_DSN (psql for the writers), BENCH_HOSTILE_SECONDS (default 15).
import { createHmac, randomUUID } from 'node:crypto';
import { execFileSync, fork, spawn } from 'node:child_process';
import net from 'node:net';
import WebSocket from 'ws';

const env = process.env;
const seconds = Number(env.BENCH_HOSTILE_SECONDS || 15);
const pub = new URL(env.FIELDSYNC_URL);
const admin = new URL(env.FIELDSYNC_ADMIN_URL);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function b64url(x) {
  return Buffer.from(x).toString('base64url');
}
function token(sub, claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'bench' }));
  const body = b64url(JSON.stringify({ sub, iat: now, exp: now + 3600, ...claims }));
  const sig = createHmac('sha256', env.BENCH_HOSTILE_SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

// Samples /healthz and RSS every 100 ms (bench/hostile/probe.mjs, a process of its own)
// until `stop` is set.
async function sample(state) {
  const probe = fork(new URL('./probe.mjs', import.meta.url), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = new Promise((resolve, reject) => {
    probe.once('message', resolve);
    probe.once('exit', (code) => reject(new Error(`the probe exited ${code}`)));
  });
  while (!state.stop) await sleep(50);
  probe.send('stop');
  return result;
}

// A writer in the background: `sql` every `ms` until stopped.
function writer(sql, ms) {
  const p = spawn('bash', ['-c', `while :; do psql -XAtq "$0" -c "${sql}" >/dev/null || exit 1; sleep ${ms / 1000}; done`, env.BENCH_PG_DSN], { stdio: 'ignore' });
  return () => p.kill('SIGTERM');
}

function session(sub, claims) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(env.FIELDSYNC_WS_URL, 'fieldsync.v1');
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', token: token(sub, claims), client_id: `h-${randomUUID()}`, protocol: 1 })));
    ws.once('message', () => resolve(ws));
  });
}

// ---- the attacks: each runs until state.stop and returns a note ----

// 1. Requests whose chunk line (and trailer) never end, on 50 connections.
async function chunkLines(state) {
  let cut = 0;
  const one = () =>
    new Promise((resolve) => {
      const s = net.connect(pub.port, pub.hostname);
      s.on('connect', () => {
        s.write('POST /v1/mutations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=');
        const pump = () => {
          if (state.stop || s.destroyed) return;
          s.write('a'.repeat(16384), () => setTimeout(pump, 5));
        };
        pump();
      });
      s.on('data', () => {});
      s.on('error', () => {});
      s.on('close', () => {
        cut++;
        resolve();
      });
      state.cleanups.push(() => s.destroy());
    });
  const loop = async () => {
    while (!state.stop) await one();
  };
  await Promise.all(Array.from({ length: 50 }, loop));
  return `${cut} connections cut by the server`;
}

// 2. A LIKE pattern built to backtrack, bound through $1, while the long row changes.
async function likePattern(state) {
  const stopWriter = writer("UPDATE notes SET body = body || '' WHERE id = 0", 100);
  state.cleanups.push(stopWriter);
  const ws = await session('hostile', { owners: ['hostile'] });
  let refused = '';
  ws.on('message', (m) => {
    const msg = JSON.parse(m);
    if (msg.type === 'error') refused = msg.code;
  });
  let k = 1;
  while (!state.stop) {
    ws.send(JSON.stringify({ type: 'subscribe', id: `l${k}`, collection: 'notes', where: 'body LIKE $1', params: ['%' + 'a%'.repeat(k % 2000) + 'b'] }));
    await sleep(200);
    ws.send(JSON.stringify({ type: 'unsubscribe', id: `l${k}` }));
    k += 97;
  }
  ws.terminate();
  return refused ? `last refusal: ${refused}` : 'never refused';
}

// 3. One large array parameter named many times.
async function paramAmplification(state) {
  const ws = await session('hostile', { owners: ['hostile'] });
  const codes = new Set();
  ws.on('message', (m) => {
    const msg = JSON.parse(m);
    if (msg.type === 'error') codes.add(msg.code);
  });
  const ids = Array.from({ length: 1000 }, (_, i) => i);
  const where = Array.from({ length: 200 }, () => 'id = ANY($1)').join(' OR ');
  let k = 0;
  while (!state.stop) {
    ws.send(JSON.stringify({ type: 'subscribe', id: `p${k}`, collection: 'notes', where, params: [ids] }));
    ws.send(JSON.stringify({ type: 'unsubscribe', id: `p${k}` }));
    k++;
    await sleep(20);
  }
  ws.terminate();
  return `${k} subscribes; errors: ${[...codes].join(' ') || 'none'}`;
}

// 4. Twenty sessions of one user that never read their snapshots, and subscribe/unsubscribe
// pairs on another.
async function stalledStarts(state) {
  const all = { owners: Array.from({ length: 50 }, (_, i) => `u${i}`) };
  const deaf = [];
  for (let i = 0; i < 19; i++) {
    const ws = await session('hostile', all);
    ws.send(JSON.stringify({ type: 'subscribe', id: 'big', collection: 'notes' }));
    ws.pause();
    deaf.push(ws);
  }
  const churn = await session('hostile', all);
  let pairs = 0;
  churn.on('message', () => {});
  while (!state.stop) {
    for (let i = 0; i < 50; i++) {
      churn.send(JSON.stringify({ type: 'subscribe', id: `c${pairs}`, collection: 'notes' }));
      churn.send(JSON.stringify({ type: 'unsubscribe', id: `c${pairs}` }));
      pairs++;
    }
    await sleep(20);
  }
  for (const ws of [...deaf, churn]) ws.terminate();
  return `${pairs} subscribe/unsubscribe pairs`;
}

// 5. The public port flooded: connections opened and held until it refuses.
async function connectionFlood(state) {
  const socks = [];
  let refused = 0;
  while (!state.stop && socks.length < 1200) {
    const s = net.connect(pub.port, pub.hostname);
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('close', () => refused++);
    socks.push(s);
    if (socks.length % 50 === 0) await sleep(10);
  }
  state.cleanups.push(() => socks.forEach((s) => s.destroy()));
  while (!state.stop) await sleep(100);
  return `${socks.length} connections opened, ${refused} closed by the server`;
}

// 6. 200 long-polls of one user (re-sent at once when answered or refused) while another
// collection changes 20 times a second.
async function longPolls(state) {
  const stopWriter = writer('UPDATE ticks SET n = n + 1 WHERE id = 1', 50);
  state.cleanups.push(stopWriter);
  const auth = { authorization: `Bearer ${token('hostile', { owners: ['hostile'] })}` };
  const first = await fetch(`${pub.origin}/v1/collections/notes/changes?limit=10000`, { headers: auth }).then((r) => r.json());
  let cursor = first.cursor;
  const statuses = {};
  const poll = async () => {
    while (!state.stop) {
      try {
        const r = await fetch(`${pub.origin}/v1/collections/notes/changes?live=true&cursor=${encodeURIComponent(cursor)}`, { headers: auth });
        statuses[r.status] = (statuses[r.status] || 0) + 1;
        await r.arrayBuffer();
        if (r.status === 429) await sleep(50);
      } catch {
        await sleep(50);
      }
    }
  };
  await Promise.all(Array.from({ length: 200 }, poll));
  return `answers by status: ${JSON.stringify(statuses)}`;
}

// 7. Every request a new client id.
async function clientIds(state) {
  const auth = { authorization: `Bearer ${token('hostile', { owners: ['hostile'] })}`, 'content-type': 'application/json' };
  let sent = 0;
  const before = execFileSync('psql', ['-XAtq', env.BENCH_PG_DSN, '-c', 'SELECT pg_database_size(current_database())']).toString().trim();
  const one = async () => {
    while (!state.stop) {
      const id = 1e9 + Math.floor(Math.random() * 1e9);
      await fetch(`${pub.origin}/v1/mutations`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ client_id: `c-${randomUUID()}`, mutations: [{ mutation_id: 1, collection: 'notes', op: 'insert', set: { id, owner: 'hostile', body: 'x'.repeat(1000) } }] }),
      }).then((r) => r.arrayBuffer()).catch(() => {});
      sent++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, one));
  const after = execFileSync('psql', ['-XAtq', env.BENCH_PG_DSN, '-c', 'SELECT pg_database_size(current_database())']).toString().trim();
  return `${sent} requests with new client ids; database grew ${((after - before) / 1048576).toFixed(1)} MB`;
}

const attacks = [
  ['1 endless chunk lines', chunkLines],
  ['2 LIKE pattern parameter', likePattern],
  ['3 parameter amplification', paramAmplification],
  ['4 stalled starts, subscribe churn', stalledStarts],
  ['5 public port flood', connectionFlood],
  ['6 200 long-polls of one user', longPolls],
  ['7 a new client id per request', clientIds],
];

const only = (env.BENCH_HOSTILE_ONLY || '').split(',').filter(Boolean);
for (const [name, attack] of attacks) {
  if (only.length && !only.some((o) => name.startsWith(o))) continue;
  const base = { stop: false };
  const baseRun = sample(base);
  await sleep(seconds * 1000);
  base.stop = true;
  const b = await baseRun;

  const state = { stop: false, cleanups: [] };
  const measuring = sample(state);
  const running = attack(state).catch((e) => `failed: ${e.message}`);
  await sleep(seconds * 1000);
  state.stop = true;
  const m = await measuring;
  state.cleanups.forEach((c) => c());
  const note = await running;
  console.log(JSON.stringify({
    attack: name, healthz_p50_ms: m.p50, healthz_p99_ms: m.p99, healthz_failures: m.failures, rss_peak_mb: m.peak,
    base_healthz_p50_ms: b.p50, base_healthz_p99_ms: b.p99, base_rss_peak_mb: b.peak, notes: note,
  }));
  await sleep(2000);  // what the attack left behind settles
}
process.exit(0);
