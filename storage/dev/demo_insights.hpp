#pragma once
// The demo's insights job: rule-based findings computed in SQL from the demo tables and
// written to public.insights the way an analytics integration would (plain SQL against
// the source database), so they reach devices through the change feed like any other row.
// `fieldsync dev` runs it at start and then every `dev.insights_interval_ms`.
//
// The rules (deterministic: the data and the database's clock decide):
//   not_visited        an A-segment account without a visit for 60 days (per account;
//                      high after 120 days or with none on record)
//   behind_plan        a field rep's calls or revenue this month below 80 % of the plan's
//                      pace (plan x day of month / days in month; high below 60 %) and
//                      short by at least 5 calls or 4,000 of revenue (early in a month
//                      one call is not a trend)
//   stuck_opportunity  an open opportunity whose stage has not changed for 30 days
//                      (opportunities.stage_changed_at; high after 90 days)
//   competitor         visit notes of the last 30 days naming a competitor, generics or a
//                      biosimilar (per territory)
//   region_summary     per region: A-accounts not visited, reps behind their call plan,
//                      stuck deals and their amount (territory_id NULL, for managers)
//
// One statement computes the wanted set, upserts the rows that differ and deletes the rows
// no rule produces any more, so an unchanged finding writes nothing and causes no change
// on any device; a finding that stops holding (the account was visited) is deleted.
//
// Concurrency contract: as storage/demo_data.hpp, one operation at a time per connection.

#include "storage/pg_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>

namespace fieldsync::storage {

struct insights_refresh {
  std::int64_t written = 0;  // rows inserted or changed
  std::int64_t removed = 0;  // rows deleted
};

// Brings a demo loaded by an older fieldsync up to the current schema (kpis.revenue_plan,
// opportunities.stage_changed_at and its trigger, the insights table); does nothing when
// the insights table exists. One transaction.
boost::asio::awaitable<pg_outcome<bool>> async_upgrade_demo_schema(pg_connection& conn);

// One run of the insights job.
boost::asio::awaitable<pg_outcome<insights_refresh>> async_refresh_insights(pg_connection& conn);

}  // namespace fieldsync::storage
