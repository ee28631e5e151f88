// A throwaway PostgreSQL 15 cluster for the browser tests, as tests/support/private_cluster
// makes one for the C++ tests: initdb into a temp dir, loopback only, wal_level=logical,
// run as the postgres user when we are root (PostgreSQL refuses root). Started and stopped
// by the test itself; stop() removes the directory.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.mjs';

function binDir() {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // no pg_config: Debian's location
  }
  return '/usr/lib/postgresql/15/bin';
}

function postgresIds() {
  const line = execFileSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).trim();
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startCluster() {
  const bin = binDir();
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'fieldsync-web-e2e-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'pg');
  mkdirSync(data, { mode: 0o700 });
  const run = (cmd, args) => {
    const argv = root ? ['-u', 'postgres', '--', cmd, ...args] : args;
    return execFileSync(root ? 'runuser' : cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  if (root) {
    const { uid, gid } = postgresIds();
    chownSync(data, uid, gid);
  }
  run(join(bin, 'initdb'), ['-D', data, '-U', 'fieldsync', '--auth=trust', '-E', 'UTF8', '--no-locale']);
  const port = await freePort();
  const settings = [
    'listen_addresses=127.0.0.1',
    `port=${port}`,
    `unix_socket_directories=${data}`,
    'wal_level=logical',
    'max_wal_senders=10',
    'max_replication_slots=10',
    'fsync=off',
    'synchronous_commit=off',
    'full_page_writes=off',
  ];
  run(join(bin, 'pg_ctl'), ['-D', data, '-l', join(data, 'server.log'), '-w', '-t', '60', 'start', '-o', settings.map((s) => `-c ${s}`).join(' ')]);
  const dsn = `host=127.0.0.1 port=${port} user=fieldsync dbname=postgres`;
  const psql = join(bin, 'psql');
  const sql = (text, database = 'postgres') =>
    execFileSync(psql, ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', `host=127.0.0.1 port=${port} user=fieldsync dbname=${database}`, '-c', text], {
      encoding: 'utf8',
    }).trim();
  return {
    port,
    dsn,
    sql,
    stop() {
      try {
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // the directory goes anyway; a postmaster without its files exits on its own
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
