// The operator's probe of the hostile scenario, in a process of its own so that the
// attacker's event loop (busy with hundreds of requests) never delays a sample: GETs the
// admin /healthz and reads the node's RSS every 100 ms until its parent sends "stop", then
// sends back {p50, p99, failures, peak} (milliseconds, count, MB) and exits.
//
// Environment: FIELDSYNC_ADMIN_URL, FIELDSYNC_PID (bench/scenarios/hostile sets them).
import { readFileSync } from 'node:fs';
import http from 'node:http';

const admin = new URL(process.env.FIELDSYNC_ADMIN_URL);
const pid = Number(process.env.FIELDSYNC_PID);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let stop = false;
process.on('message', (m) => {
  if (m === 'stop') stop = true;
});

function rssMb() {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(line.split(/\s+/)[1]) / 1024;
  } catch {
    return NaN;
  }
}

function healthz() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get({ host: admin.hostname, port: admin.port, path: '/healthz', agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - t0 : null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

const lat = [];
let failures = 0;
let peak = 0;
while (!stop) {
  const t = await healthz();
  if (t === null) failures++;
  else lat.push(t);
  peak = Math.max(peak, rssMb());
  await sleep(100);
}
lat.sort((a, b) => a - b);
const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : null);
process.send({ p50: q(0.5), p99: q(0.99), failures, peak }, () => process.exit(0));
