// `fieldsync dev` for the app's browser tests: the real binary with its embedded
// PostgreSQL cluster and the demo at a small scale (one territory, six reps), serving the
// built app (server.static_dir), on loopback ports chosen free once (a restart keeps the
// page's origin, its service worker and its IndexedDB). Stopping it stops its cluster too,
// as a person's Ctrl-C would. Only the pid this module started is ever signalled.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.mjs';

function psqlPath() {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(join(dir, 'psql'))) return join(dir, 'psql');
  } catch {
    // Debian's location below
  }
  return '/usr/lib/postgresql/15/bin/psql';
}

export class DevServer {
  static async create({ binary, appDir, env = {} }) {
    const d = new DevServer();
    d.binary = binary;
    d.root = mkdtempSync(join(tmpdir(), 'fieldsync-app-e2e-'));
    // The cluster runs as the postgres user when the tests run as root: it must reach it.
    chmodSync(d.root, 0o755);
    d.dataDir = join(d.root, 'data');
    d.port = await freePort();
    d.adminPort = await freePort();
    d.origin = `http://127.0.0.1:${d.port}`;
    d.admin = `http://127.0.0.1:${d.adminPort}`;
    d.env = {
      ...process.env,
      FIELDSYNC_SERVER_LISTEN: `127.0.0.1:${d.port}`,
      FIELDSYNC_SERVER_ADMIN_LISTEN: `127.0.0.1:${d.adminPort}`,
      FIELDSYNC_SERVER_STATIC_DIR: appDir,
      FIELDSYNC_SERVER_SHUTDOWN_TIMEOUT_MS: '2000',
      FIELDSYNC_DEV_DEMO_SCALE: '0.01',
      FIELDSYNC_DEV_ETL_INTERVAL_MS: '0',
      FIELDSYNC_DEV_INSIGHTS_INTERVAL_MS: '300',
      FIELDSYNC_REPLICATION_HEARTBEAT_INTERVAL_MS: '500',
      FIELDSYNC_LOG_LEVEL: 'info',
      ...env,
    };
    d.output = [];
    return d;
  }

  async start(timeoutMs = 180_000) {
    if (this.child) throw new Error('fieldsync dev already runs');
    const child = spawn(this.binary, ['dev', '--data-dir', this.dataDir], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await new Promise((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(() => reject(new Error(`fieldsync dev not running in ${timeoutMs} ms:\n${this.output.slice(-30).join('\n')}`)), timeoutMs);
      const onData = (chunk) => {
        buffer += chunk.toString();
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          this.output.push(line);
          if (this.output.length > 3000) this.output.shift();
          const pg = /^\s*postgres\s+psql "(.*)"$/.exec(line);
          if (pg) this.dsn = pg[1];
          if (/dev is running/.test(line)) {
            clearTimeout(timer);
            resolve();
          }
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`fieldsync dev exited (${code}):\n${this.output.slice(-30).join('\n')}`));
      });
    });
    this.adminToken = readFileSync(join(this.dataDir, 'admin_token'), 'utf8').trim();
  }

  async stop() {
    const child = this.child;
    if (!child) return;
    this.child = null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }

  // The first column of each row, as text ('' for none).
  sql(text) {
    return execFileSync(psqlPath(), ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', this.dsn, '-c', text], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  }

  // A JSON value computed by the database (SELECT json_agg(...) ...).
  json(text) {
    const out = this.sql(text);
    return out ? JSON.parse(out) : null;
  }

  token(claims) {
    return execFileSync(this.binary, ['token', '--data-dir', this.dataDir, JSON.stringify(claims)], { encoding: 'utf8' }).trim();
  }

  async adminCall(method, path) {
    const res = await fetch(this.admin + path, { method, headers: { Authorization: `Bearer ${this.adminToken}` } });
    return res.json();
  }

  remove() {
    rmSync(this.root, { recursive: true, force: true });
  }
}
