-- The ingest scenario's workload: exactly :changes row changes to the demo tables
-- (accounts, visits, opportunities, kpis), as a mix of large and small transactions, the
-- way an integration and a field team would make them:
--
--   ~15%  one transaction: a CRM load inserts accounts
--   ~15%  one transaction: an import of visit reports (long text notes, jsonb, text[])
--   ~10%  one transaction: a territory realignment updates accounts
--    ~5%  KPI rows inserted by the monthly ETL, transactions of 1000
--    ~5%  opportunities created, transactions of 500
--   ~45%  small transactions of 1-8 changes: visits logged, notes edited, deals advanced,
--         KPI figures updated, visits deleted
--    ~5%  visits purged, transactions of 1000
--
-- Deterministic (setseed). Prints the number of transactions and of row changes.
-- Run with psql -v changes=N in autocommit mode: the DO block commits as it goes.

SET synchronous_commit = off;  -- only the writer's speed; decoding is the same
SELECT set_config('bench.changes', :'changes', false);

CREATE TEMP TABLE bench_words AS
SELECT array['discussed', 'dosing', 'trial', 'results', 'samples', 'left', 'follow-up', 'call',
             'pharmacist', 'formulary', 'pricing', 'hospital', 'committee', 'approval', 'new',
             'patients', 'cardiology', 'oncology', 'guidelines', 'study', 'phase', 'III',
             'interested', 'objection', 'competitor', 'switch', 'renewal', 'order', 'stock',
             'training', 'nurses', 'webinar', 'next', 'visit', 'in', 'two', 'weeks', 'the',
             'and', 'with', 'about', 'for'] AS w;

CREATE FUNCTION pg_temp.words(seed bigint, n int) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT string_agg((SELECT w FROM bench_words)[1 + ((seed * 7919 + i * 104729) % 42)::int], ' ')
  FROM generate_series(1, n) i
$$;

CREATE FUNCTION pg_temp.acct(i bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS
  $$ SELECT md5('account ' || i)::uuid $$;
CREATE FUNCTION pg_temp.visit(i bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS
  $$ SELECT md5('visit ' || i)::uuid $$;
CREATE FUNCTION pg_temp.opp(i bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS
  $$ SELECT md5('opportunity ' || i)::uuid $$;

CREATE TEMP TABLE bench_counts (transactions bigint, changes bigint);

DO $$
DECLARE
  total bigint := current_setting('bench.changes')::bigint;
  n_accounts bigint := greatest(total * 15 / 100, 1);
  n_visits bigint := greatest(total * 15 / 100, 2);
  n_realign bigint := total * 10 / 100;
  n_kpis bigint := total * 5 / 100;
  n_opps bigint := greatest(total * 5 / 100, 1);
  n_purge bigint := total * 5 / 100;
  n_small bigint;
  done bigint := 0;
  txns bigint := 0;
  got bigint;
  i bigint;
  k int;
  r double precision;
  next_visit bigint;      -- the next visit id to insert
  next_delete bigint;     -- the next visit id to delete
  reps int := greatest(n_kpis / 12, 1)::int;
BEGIN
  PERFORM setseed(0.42);

  -- A CRM load.
  INSERT INTO accounts (id, territory_id, kind, name, specialty, city, postal_code, phone, tags,
                        segment, updated_at)
  SELECT pg_temp.acct(g), 1 + g % 60, (array['doctor', 'pharmacy', 'hospital'])[1 + g % 3],
         'Account ' || g || ' ' || pg_temp.words(g, 2),
         CASE WHEN g % 3 = 1 THEN NULL ELSE (array['cardiology', 'oncology', 'general practice'])[1 + g % 3] END,
         (array['Lyon', 'Madrid', 'Milano', 'Berlin', 'Porto'])[1 + g % 5], lpad((g % 99999)::text, 5, '0'),
         CASE WHEN g % 4 = 0 THEN NULL ELSE '+33 4 ' || lpad((g % 100000000)::text, 8, '0') END,
         CASE WHEN g % 2 = 0 THEN array['key', 'priority'] ELSE '{}' END,
         (array['A', 'B', 'C'])[1 + g % 3], now() - g * interval '1 minute'
  FROM generate_series(1, n_accounts) g;
  GET DIAGNOSTICS got = ROW_COUNT;
  done := done + got; txns := txns + 1;
  COMMIT;

  -- An import of call reports.
  INSERT INTO visits (id, account_id, rep_id, territory_id, visited_at, channel,
                      products_discussed, samples_left, notes, next_steps, updated_at)
  SELECT pg_temp.visit(g), pg_temp.acct(1 + g % n_accounts), 1 + g % 600, 1 + g % 60,
         now() - g * interval '7 minutes', (array['in_person', 'phone', 'video', 'email'])[1 + g % 4],
         array['cardiozol', 'oncovir'], jsonb_build_object('cardiozol', g % 5, 'oncovir', g % 3),
         pg_temp.words(g, 20 + (g % 40)::int), CASE WHEN g % 2 = 0 THEN pg_temp.words(g + 1, 8) END,
         now()
  FROM generate_series(1, n_visits) g;
  GET DIAGNOSTICS got = ROW_COUNT;
  done := done + got; txns := txns + 1;
  COMMIT;
  next_visit := n_visits + 1;
  next_delete := n_visits / 2 + 1;

  -- A territory realignment.
  UPDATE accounts SET territory_id = 1 + (territory_id + 7) % 60, updated_at = now()
  WHERE id IN (SELECT pg_temp.acct(g) FROM generate_series(1, n_realign) g);
  GET DIAGNOSTICS got = ROW_COUNT;
  done := done + got; txns := txns + 1;
  COMMIT;

  -- Monthly KPI rows, in chunks of 1000.
  i := 0;
  WHILE i < n_kpis LOOP
    INSERT INTO kpis (rep_id, month, calls_planned, calls_done, samples_given, new_accounts, revenue)
    SELECT 1 + g / 12, date '2026-01-01' + ((g % 12)::int * interval '1 month'), 80, (g * 37) % 90,
           (g * 11) % 40, g % 4, ((g * 7919) % 1000000) / 100.0
    FROM generate_series(i, least(i + 1000, n_kpis) - 1) g;
    GET DIAGNOSTICS got = ROW_COUNT;
    done := done + got; txns := txns + 1; i := i + 1000;
    COMMIT;
  END LOOP;

  -- New opportunities, in chunks of 500.
  i := 0;
  WHILE i < n_opps LOOP
    INSERT INTO opportunities (id, account_id, territory_id, owner_rep_id, name, stage, amount,
                               close_date, metrics, champion, competition, updated_at)
    SELECT pg_temp.opp(g), pg_temp.acct(1 + g % n_accounts), 1 + g % 60, 1 + g % 600,
           'Opportunity ' || g, 'prospecting', ((g * 7919) % 10000000) / 100.0,
           date '2027-01-01' + (g % 365)::int, pg_temp.words(g, 10), 'Dr. ' || pg_temp.words(g, 1),
           pg_temp.words(g + 3, 3), now()
    FROM generate_series(i + 1, least(i + 500, n_opps)) g;
    GET DIAGNOSTICS got = ROW_COUNT;
    done := done + got; txns := txns + 1; i := i + 500;
    COMMIT;
  END LOOP;

  -- The field team: small transactions until only the purge is left.
  n_small := total - done - n_purge;
  WHILE n_small > 0 LOOP
    k := least(1 + floor(random() * 8)::int, n_small);
    FOR j IN 1..k LOOP
      r := random();
      i := 1 + floor(random() * 1e9)::bigint;  -- row picks: computed once, so indexes serve
      IF r < 0.25 THEN
        INSERT INTO visits (id, account_id, rep_id, territory_id, visited_at, channel,
                            products_discussed, samples_left, notes, updated_at)
        VALUES (pg_temp.visit(next_visit), pg_temp.acct(1 + next_visit % n_accounts),
                1 + next_visit % 600, 1 + next_visit % 60, now(), 'in_person', array['cardiozol'],
                jsonb_build_object('cardiozol', 2), pg_temp.words(next_visit, 30), now());
        next_visit := next_visit + 1;
      ELSIF r < 0.60 THEN
        UPDATE opportunities
           SET stage = (array['qualification', 'proposal', 'negotiation', 'closed_won'])[1 + floor(random() * 4)::int],
               amount = amount + 100, economic_buyer = 'CFO', updated_at = now()
         WHERE id = pg_temp.opp(1 + i % n_opps);
      ELSIF r < 0.80 THEN
        UPDATE visits SET notes = notes || ' ' || pg_temp.words(j, 5), updated_at = now()
         WHERE id = pg_temp.visit(1 + i % (n_visits / 2));
      ELSIF r < 0.90 AND n_kpis > 0 THEN
        UPDATE kpis SET calls_done = calls_done + 1, revenue = revenue + 250.50, updated_at = now()
         WHERE rep_id = 1 + i % reps AND month = date '2026-11-01';
      ELSE
        DELETE FROM visits WHERE id = pg_temp.visit(next_delete);
        next_delete := next_delete + 1;
      END IF;
      GET DIAGNOSTICS got = ROW_COUNT;
      done := done + got; n_small := n_small - got;
    END LOOP;
    txns := txns + 1;
    COMMIT;
  END LOOP;

  -- A purge of old call reports, in chunks of 1000 (continues after the small deletes).
  WHILE done < total LOOP
    DELETE FROM visits WHERE id IN (
      SELECT pg_temp.visit(g) FROM generate_series(next_delete, next_delete + least(1000, total - done) - 1) g);
    GET DIAGNOSTICS got = ROW_COUNT;
    next_delete := next_delete + least(1000, total - done);
    done := done + got; txns := txns + 1;
    COMMIT;
    IF next_delete >= next_visit THEN
      RAISE EXCEPTION 'workload: nothing left to delete (% of % changes)', done, total;
    END IF;
  END LOOP;

  INSERT INTO bench_counts VALUES (txns, done);
END
$$;

SELECT transactions || ' ' || changes FROM bench_counts;
