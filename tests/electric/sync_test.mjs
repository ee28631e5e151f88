// The published @electric-sql/client against fieldsync's /v1/shape (run by
// electric_client_test.cpp, which starts PostgreSQL and fieldsync and passes the
// environment): initial sync, live inserts/updates/deletes and scope moves, a where
// clause with params, and a forced 409 (the replication slot dropped: a new epoch) after
// which the client re-syncs to the right state.
import { Shape, ShapeStream } from '@electric-sql/client'
import { execFileSync } from 'node:child_process'
import assert from 'node:assert/strict'

const url = `${process.env.FIELDSYNC_URL}/v1/shape`
const token = process.env.FIELDSYNC_TOKEN
const dsn = process.env.FIELDSYNC_DSN
const slot = process.env.FIELDSYNC_SLOT
const psql = process.env.PSQL || 'psql'

function sql(text) {
  return execFileSync(psql, ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', dsn, '-c', text], {
    encoding: 'utf8',
  }).trim()
}

// The rows the shape must hold, as "id|territory|stage|amount" strings.
function expected(extraWhere = '') {
  const out = sql(
    `SELECT coalesce(string_agg(id || '|' || territory_id || '|' || coalesce(stage, 'null') || '|' ||
       coalesce(amount::text, 'null'), ',' ORDER BY id), '') FROM pull_accounts
     WHERE territory_id IN (1, 2) ${extraWhere}`)
  return out === '' ? [] : out.split(',')
}

function held(shape) {
  return shape.currentRows
    .map((r) => `${r.id}|${r.territory_id}|${r.stage ?? 'null'}|${r.amount ?? 'null'}`)
    .sort((a, b) => Number(a.split('|')[0]) - Number(b.split('|')[0]))
}

async function until(what, check, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs
  let last
  while (Date.now() < deadline) {
    last = check()
    if (last === true) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`)
}

function sameAs(shape, extraWhere = '') {
  return () => {
    const want = expected(extraWhere)
    const have = held(shape)
    return JSON.stringify(want) === JSON.stringify(have) ? true : { want: want.slice(0, 5), have: have.slice(0, 5), wantN: want.length, haveN: have.length }
  }
}

const headers = { Authorization: `Bearer ${token}` }
const errors = []
const onError = (e) => {
  errors.push(e)
  console.error('shape error', e)
}

// 1. Initial sync of the caller's scope (territories 1 and 2).
const stream = new ShapeStream({ url, params: { table: 'accounts' }, headers, onError })
const controls = []
stream.subscribe((messages) => {
  for (const m of messages) if (m.headers?.control) controls.push(m.headers.control)
})
const shape = new Shape(stream)
const initial = await shape.rows
assert.equal(initial.length, expected().length)
assert.equal(typeof initial[0].id, 'bigint') // int8 parsed from PostgreSQL text
assert.equal(typeof initial[0].territory_id, 'number')
await until('initial rows', sameAs(shape))
console.log(`initial sync: ${initial.length} rows`)

// 2. Live changes: insert, update, delete, and rows moving in and out of the scope.
sql(`INSERT INTO pull_accounts (id, territory_id, stage, amount) VALUES (100001, 1, 'lead', 10.25)`)
sql(`UPDATE pull_accounts SET stage = 'won', amount = 999 WHERE id = 2`)
sql(`DELETE FROM pull_accounts WHERE id = 4`)
sql(`UPDATE pull_accounts SET territory_id = 3 WHERE id = 5`)  // out of the scope
sql(`UPDATE pull_accounts SET territory_id = 2 WHERE id = 3`)  // into the scope
sql(`BEGIN; UPDATE pull_accounts SET note = 'x' WHERE id = 7; INSERT INTO pull_accounts VALUES (100002, 2, 'won', 5000, 'y'); COMMIT`)
await until('live changes', sameAs(shape))
console.log('live changes: ok')

// 3. A where clause with params, inside the scope.
const filtered = new Shape(new ShapeStream({
  url,
  params: { table: 'accounts', where: 'stage = $1 AND amount > $2', params: ['won', '100'] },
  headers,
  onError,
}))
await filtered.rows
const filterSql = `AND stage = 'won' AND amount > 100`
await until('filtered rows', sameAs(filtered, filterSql))
sql(`UPDATE pull_accounts SET stage = 'won', amount = 101 WHERE id = 8`)
sql(`UPDATE pull_accounts SET amount = 1 WHERE id = 2`)
await until('filtered live changes', sameAs(filtered, filterSql))
await until('full shape after filtered changes', sameAs(shape))
console.log('where with params: ok')

// 4. History lost: the slot is dropped under the running server. The next start of its
// stream finds it missing, starts a new epoch and copies the table again; the clients get
// 409, must-refetch, and re-sync.
sql(`DO $$
BEGIN
  FOR i IN 1..400 LOOP
    PERFORM pg_terminate_backend(active_pid) FROM pg_replication_slots
      WHERE slot_name = '${slot}' AND active_pid IS NOT NULL;
    BEGIN
      PERFORM pg_drop_replication_slot('${slot}');
      RETURN;
    EXCEPTION WHEN object_in_use THEN
      PERFORM pg_sleep(0.01);
    END;
  END LOOP;
  RAISE EXCEPTION 'could not drop the slot';
END $$`)
sql(`UPDATE pull_accounts SET stage = 'after-reset' WHERE id = 1`)
sql(`INSERT INTO pull_accounts (id, territory_id, stage, amount) VALUES (100003, 1, 'new-epoch', 1)`)
await until('must-refetch', () => controls.includes('must-refetch') || controls)
await until('re-synced shape', sameAs(shape))
await until('re-synced filtered shape', sameAs(filtered, filterSql))
console.log('409 and re-sync: ok')

// 5. And it goes on live after the reset.
sql(`UPDATE pull_accounts SET stage = 'live-again' WHERE id = 1`)
await until('live after reset', sameAs(shape))

assert.deepEqual(errors, [])
console.log('electric client: all checks passed')
process.exit(0)
