// The real fieldsync binary for the browser tests: `fieldsync serve` with a generated
// config on fixed loopback ports (chosen free once, so a restart keeps the page's origin
// and its IndexedDB), started, waited for until it logs "ready", stopped by its pid.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.mjs';

export const adminToken = 'e2e-admin-token-0123456789abcdef';

export class Fieldsync {
  static async create({ binary, dsn, dir, sections }) {
    const f = new Fieldsync();
    f.binary = binary;
    f.port = await freePort();
    f.adminPort = await freePort();
    f.config = join(dir, 'fieldsync.toml');
    writeFileSync(
      f.config,
      `[server]
listen = "127.0.0.1:${f.port}"
admin_listen = "127.0.0.1:${f.adminPort}"
admin_token = "${adminToken}"
shutdown_timeout_ms = 2000
[database]
dsn = "${dsn}"
pool_size = 4
[log]
level = "info"
${sections}
`,
    );
    f.origin = `http://127.0.0.1:${f.port}`;
    f.admin = `http://127.0.0.1:${f.adminPort}`;
    f.output = [];
    return f;
  }

  async start(timeoutMs = 60_000) {
    if (this.child) throw new Error('fieldsync already runs');
    const child = spawn(this.binary, ['serve', '--config', this.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const ready = new Promise((resolve, reject) => {
      let buffer = '';
      const onData = (chunk) => {
        buffer += chunk.toString();
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          this.output.push(line);
          if (this.output.length > 2000) this.output.shift();
          if (/\bready\b/.test(line)) resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`fieldsync exited (${code}) before ready:\n${this.output.slice(-20).join('\n')}`)));
      setTimeout(() => reject(new Error(`fieldsync not ready in ${timeoutMs} ms:\n${this.output.slice(-20).join('\n')}`)), timeoutMs);
    });
    await ready;
  }

  async stop() {
    const child = this.child;
    if (!child) return;
    this.child = null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  async adminGet(path) {
    const res = await fetch(this.admin + path, { headers: { Authorization: `Bearer ${adminToken}` } });
    return res.json();
  }

  async adminDelete(path) {
    const res = await fetch(this.admin + path, { method: 'DELETE', headers: { Authorization: `Bearer ${adminToken}` } });
    return res.json();
  }
}
