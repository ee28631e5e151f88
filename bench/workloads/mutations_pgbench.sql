-- The mutations scenario's limit: the same updates as plain SQL, 20 per transaction (one
-- pushed batch), each pgbench client on random rows of its own range of bench_items, as
-- each pushing client has its own rows. pgbench -f this -D per=ROWS_PER_CLIENT.
\set base :client_id * :per
\set id1 :base + random(1, :per)
\set id2 :base + random(1, :per)
\set id3 :base + random(1, :per)
\set id4 :base + random(1, :per)
\set id5 :base + random(1, :per)
\set id6 :base + random(1, :per)
\set id7 :base + random(1, :per)
\set id8 :base + random(1, :per)
\set id9 :base + random(1, :per)
\set id10 :base + random(1, :per)
\set id11 :base + random(1, :per)
\set id12 :base + random(1, :per)
\set id13 :base + random(1, :per)
\set id14 :base + random(1, :per)
\set id15 :base + random(1, :per)
\set id16 :base + random(1, :per)
\set id17 :base + random(1, :per)
\set id18 :base + random(1, :per)
\set id19 :base + random(1, :per)
\set id20 :base + random(1, :per)
BEGIN;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id1 WHERE id = :id1;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id2 WHERE id = :id2;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id3 WHERE id = :id3;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id4 WHERE id = :id4;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id5 WHERE id = :id5;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id6 WHERE id = :id6;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id7 WHERE id = :id7;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id8 WHERE id = :id8;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id9 WHERE id = :id9;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id10 WHERE id = :id10;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id11 WHERE id = :id11;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id12 WHERE id = :id12;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id13 WHERE id = :id13;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id14 WHERE id = :id14;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id15 WHERE id = :id15;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id16 WHERE id = :id16;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id17 WHERE id = :id17;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id18 WHERE id = :id18;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id19 WHERE id = :id19;
UPDATE bench_items SET hits = hits + 1, title = 'sql ' || :id20 WHERE id = :id20;
COMMIT;
