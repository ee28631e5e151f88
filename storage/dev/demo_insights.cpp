#include "storage/dev/demo_insights.hpp"

#include <charconv>
#include <string_view>

namespace fieldsync::storage {

namespace asio = boost::asio;

namespace {

// What config/demo_schema.sql adds for the insights, for a demo loaded before it did.
// Each statement is idempotent, so a run interrupted half-way is finished by the next.
constexpr std::string_view upgrade_sql = R"sql(
BEGIN;
ALTER TABLE public.kpis ADD COLUMN IF NOT EXISTS revenue_plan numeric(14, 2) NOT NULL DEFAULT 0;
UPDATE public.kpis SET revenue_plan = calls_planned * 800 WHERE revenue_plan = 0;
ALTER TABLE public.opportunities ADD COLUMN IF NOT EXISTS stage_changed_at timestamptz NOT NULL DEFAULT now();
UPDATE public.opportunities SET stage_changed_at = updated_at;
CREATE OR REPLACE FUNCTION public.opportunities_stage_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.stage IS DISTINCT FROM OLD.stage THEN
    NEW.stage_changed_at := now();
  END IF;
  RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS opportunities_stage_changed ON public.opportunities;
CREATE TRIGGER opportunities_stage_changed BEFORE UPDATE ON public.opportunities
  FOR EACH ROW EXECUTE FUNCTION public.opportunities_stage_changed();
CREATE TABLE IF NOT EXISTS public.insights (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('not_visited', 'behind_plan', 'stuck_opportunity',
                                     'competitor', 'region_summary')),
  severity text NOT NULL CHECK (severity IN ('high', 'medium', 'low')),
  territory_id bigint,
  region text NOT NULL,
  rep_id bigint,
  account_id uuid,
  opportunity_id uuid,
  title text NOT NULL,
  detail text NOT NULL,
  value numeric,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS insights_territory_idx ON public.insights (territory_id);
COMMIT;
)sql";

// The rules of demo_insights.hpp. Every branch yields the columns of public.insights in
// table order (id .. value). Visits of the last 30 days are read per territory through
// visits_territory_visited_idx, last visits per account through visits_account_visited_idx,
// so a run at scale 1 reads indexes rather than the 500,000 visits.
constexpr std::string_view refresh_sql = R"sql(
WITH p AS (
  SELECT now() AS now,
         date_trunc('month', now())::date AS month,
         extract(day FROM now())::numeric
           / extract(day FROM date_trunc('month', now()) + interval '1 month' - interval '1 day')::numeric AS pace
),
last_visit AS (
  SELECT a.id, a.territory_id, a.name, a.city, lv.last
  FROM public.accounts a
  LEFT JOIN LATERAL (SELECT max(v.visited_at) AS last FROM public.visits v WHERE v.account_id = a.id) lv ON true
  WHERE a.segment = 'A'
),
not_visited AS (
  SELECT 'not_visited:' || l.id AS id, 'not_visited'::text AS kind,
         CASE WHEN l.last IS NULL OR l.last < p.now - interval '120 days' THEN 'high' ELSE 'medium' END AS severity,
         l.territory_id, t.region, NULL::bigint AS rep_id, l.id AS account_id, NULL::uuid AS opportunity_id,
         l.name || ' not visited for ' ||
           CASE WHEN l.last IS NULL THEN 'over a year'
                ELSE floor(extract(epoch FROM p.now - l.last) / 86400)::int || ' days' END AS title,
         'A-segment account in ' || l.city ||
           CASE WHEN l.last IS NULL THEN ', no visit on record'
                ELSE ', last visit ' || to_char(l.last AT TIME ZONE 'UTC', 'YYYY-MM-DD') END AS detail,
         floor(extract(epoch FROM p.now - coalesce(l.last, p.now - interval '366 days')) / 86400)::numeric AS value
  FROM last_visit l CROSS JOIN p JOIN public.territories t ON t.id = l.territory_id
  WHERE l.last IS NULL OR l.last < p.now - interval '60 days'
),
kpi_now AS (
  SELECT k.rep_id, k.calls_planned, k.calls_done, k.revenue, k.revenue_plan,
         r.territory_id, r.region, r.name AS rep_name, p.pace
  FROM public.kpis k
  JOIN public.reps r ON r.id = k.rep_id AND r.role = 'rep'
  CROSS JOIN p
  WHERE k.month = p.month
),
behind AS (
  SELECT 'behind_plan:calls:' || k.rep_id AS id, 'behind_plan'::text AS kind,
         CASE WHEN k.calls_done < 0.6 * k.calls_planned * k.pace THEN 'high' ELSE 'medium' END AS severity,
         k.territory_id, k.region, k.rep_id, NULL::uuid AS account_id, NULL::uuid AS opportunity_id,
         'Calls behind plan: ' || k.calls_done || ' of ' || round(k.calls_planned * k.pace) || ' due by today' AS title,
         k.rep_name || ': ' || k.calls_done || ' calls done of ' || k.calls_planned || ' planned this month' AS detail,
         round(100 * k.calls_done / (k.calls_planned * k.pace))::numeric AS value
  FROM kpi_now k
  WHERE k.calls_planned > 0 AND k.pace > 0 AND k.calls_done < 0.8 * k.calls_planned * k.pace
    AND k.calls_planned * k.pace - k.calls_done >= 5  -- early in the month a call or two is noise
  UNION ALL
  SELECT 'behind_plan:revenue:' || k.rep_id, 'behind_plan',
         CASE WHEN k.revenue < 0.6 * k.revenue_plan * k.pace THEN 'high' ELSE 'medium' END,
         k.territory_id, k.region, k.rep_id, NULL::uuid, NULL::uuid,
         'Revenue behind plan: ' || to_char(k.revenue, 'FM999G999G990') || ' of ' ||
           to_char(k.revenue_plan * k.pace, 'FM999G999G990') || ' due by today',
         k.rep_name || ': ' || to_char(k.revenue, 'FM999G999G990') || ' of a ' ||
           to_char(k.revenue_plan, 'FM999G999G990') || ' plan this month',
         round(100 * k.revenue / (k.revenue_plan * k.pace))::numeric
  FROM kpi_now k
  WHERE k.revenue_plan > 0 AND k.pace > 0 AND k.revenue < 0.8 * k.revenue_plan * k.pace
    AND k.revenue_plan * k.pace - k.revenue >= 4000
),
stuck AS (
  SELECT 'stuck:' || o.id AS id, 'stuck_opportunity'::text AS kind,
         CASE WHEN o.stage_changed_at < p.now - interval '90 days' THEN 'high' ELSE 'medium' END AS severity,
         o.territory_id, t.region, o.owner_rep_id AS rep_id, o.account_id, o.id AS opportunity_id,
         o.name || ': ' || replace(o.stage, '_', ' ') || ' for ' ||
           floor(extract(epoch FROM p.now - o.stage_changed_at) / 86400)::int || ' days' AS title,
         'Amount ' || to_char(o.amount, 'FM999G999G990') || ', closing ' || o.close_date AS detail,
         floor(extract(epoch FROM p.now - o.stage_changed_at) / 86400)::numeric AS value,
         o.amount
  FROM public.opportunities o CROSS JOIN p JOIN public.territories t ON t.id = o.territory_id
  WHERE o.stage NOT IN ('closed_won', 'closed_lost') AND o.stage_changed_at < p.now - interval '30 days'
),
mentions AS (
  SELECT t.id AS territory_id, t.region, count(*) AS n, count(DISTINCT v.account_id) AS accounts,
         max(v.visited_at) AS latest
  FROM public.territories t CROSS JOIN p
  CROSS JOIN LATERAL (
    SELECT v.account_id, v.visited_at, v.notes FROM public.visits v
    WHERE v.territory_id = t.id AND v.visited_at > p.now - interval '30 days'
  ) v
  WHERE v.notes ~* '\m(competitors?|generics?|biosimilars?)\M'
  GROUP BY t.id, t.region
),
competitor AS (
  SELECT 'competitor:' || m.territory_id AS id, 'competitor'::text AS kind,
         CASE WHEN m.n >= 10 THEN 'high' WHEN m.n >= 3 THEN 'medium' ELSE 'low' END AS severity,
         m.territory_id, m.region, NULL::bigint AS rep_id, NULL::uuid AS account_id, NULL::uuid AS opportunity_id,
         'Competitors named in ' || m.n || ' visit note' || CASE WHEN m.n = 1 THEN '' ELSE 's' END ||
           ' (30 days)' AS title,
         m.accounts || ' account' || CASE WHEN m.accounts = 1 THEN '' ELSE 's' END ||
           ' mention a competitor, generics or a biosimilar; latest ' ||
           to_char(m.latest AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS detail,
         m.n::numeric AS value
  FROM mentions m
),
regions AS (
  SELECT region, count(*) FILTER (WHERE role = 'rep') AS reps FROM public.reps GROUP BY region
),
summary AS (
  SELECT 'region:not_visited:' || r.region AS id, 'region_summary'::text AS kind,
         CASE WHEN count(n.id) >= 50 THEN 'high' ELSE 'medium' END AS severity,
         NULL::bigint AS territory_id, r.region, NULL::bigint AS rep_id, NULL::uuid AS account_id,
         NULL::uuid AS opportunity_id,
         count(n.id) || ' A-accounts not visited for 60 days' AS title,
         count(n.id) FILTER (WHERE n.severity = 'high') || ' of them for over 120 days' AS detail,
         count(n.id)::numeric AS value
  FROM regions r JOIN not_visited n ON n.region = r.region
  GROUP BY r.region
  UNION ALL
  SELECT 'region:behind_plan:' || r.region, 'region_summary',
         CASE WHEN 2 * count(DISTINCT b.rep_id) >= r.reps THEN 'high' ELSE 'medium' END,
         NULL::bigint, r.region, NULL::bigint, NULL::uuid, NULL::uuid,
         count(DISTINCT b.rep_id) || ' of ' || r.reps || ' reps behind their call plan',
         'calls done below 80 % of the plan''s pace this month',
         count(DISTINCT b.rep_id)::numeric
  FROM regions r JOIN behind b ON b.region = r.region AND b.id LIKE 'behind_plan:calls:%'
  GROUP BY r.region, r.reps
  UNION ALL
  SELECT 'region:stuck:' || r.region, 'region_summary',
         CASE WHEN count(s.id) >= 100 THEN 'high' ELSE 'medium' END,
         NULL::bigint, r.region, NULL::bigint, NULL::uuid, NULL::uuid,
         count(s.id) || ' open deals stuck in a stage for 30 days',
         'worth ' || to_char(sum(s.amount), 'FM999G999G999G990') || ' together',
         count(s.id)::numeric
  FROM regions r JOIN stuck s ON s.region = r.region
  GROUP BY r.region
),
wanted AS (
  SELECT * FROM not_visited
  UNION ALL SELECT * FROM behind
  UNION ALL SELECT id, kind, severity, territory_id, region, rep_id, account_id, opportunity_id, title, detail, value FROM stuck
  UNION ALL SELECT * FROM competitor
  UNION ALL SELECT * FROM summary
),
written AS (
  INSERT INTO public.insights AS i
    (id, kind, severity, territory_id, region, rep_id, account_id, opportunity_id, title, detail, value)
  SELECT * FROM wanted
  ON CONFLICT (id) DO UPDATE
    SET kind = excluded.kind, severity = excluded.severity, territory_id = excluded.territory_id,
        region = excluded.region, rep_id = excluded.rep_id, account_id = excluded.account_id,
        opportunity_id = excluded.opportunity_id, title = excluded.title, detail = excluded.detail,
        value = excluded.value, updated_at = now()
    WHERE (i.kind, i.severity, i.territory_id, i.region, i.rep_id, i.account_id, i.opportunity_id,
           i.title, i.detail, i.value)
          IS DISTINCT FROM
          (excluded.kind, excluded.severity, excluded.territory_id, excluded.region, excluded.rep_id,
           excluded.account_id, excluded.opportunity_id, excluded.title, excluded.detail, excluded.value)
  RETURNING 1
),
removed AS (
  DELETE FROM public.insights i WHERE NOT EXISTS (SELECT 1 FROM wanted w WHERE w.id = i.id)
  RETURNING 1
)
SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM removed)
)sql";

std::int64_t to_int(std::string_view s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

asio::awaitable<pg_outcome<bool>> async_upgrade_demo_schema(pg_connection& conn) {
  auto exists = co_await conn.async_query("SELECT to_regclass('public.insights') IS NOT NULL");
  if (!exists) co_return exists.error();
  if (exists->rows() == 1 && exists->value(0, 0) == "t") co_return false;
  auto upgraded = co_await conn.async_exec(upgrade_sql);
  if (!upgraded) {
    if (conn.is_ok()) static_cast<void>(co_await conn.async_exec("ROLLBACK"));
    co_return upgraded.error();
  }
  co_return true;
}

asio::awaitable<pg_outcome<insights_refresh>> async_refresh_insights(pg_connection& conn) {
  auto r = co_await conn.async_query(refresh_sql);
  if (!r) co_return r.error();
  insights_refresh out;
  if (r->rows() == 1) {
    out.written = to_int(r->value(0, 0));
    out.removed = to_int(r->value(0, 1));
  }
  co_return out;
}

}  // namespace fieldsync::storage
