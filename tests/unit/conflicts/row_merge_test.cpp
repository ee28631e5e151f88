#include "conflicts/row_merge.hpp"

#include "conflicts/canonical_value.hpp"
#include "conflicts/merge_errc.hpp"
#include "merge_test_support.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::conflicts;
using namespace fieldsync::conflicts::test;
using fieldsync::protocol::change_op;
using fieldsync::protocol::type_class;

namespace {

const writer rep_a{clock(2'000, 0, "rep-a"), "rep-a"};
const writer rep_b{clock(1'500, 0, "rep-b"), "rep-b"};
const writer etl{clock(1'000, 0, "etl"), "etl"};

// The demo's kpis collection: counters, with lww for the rest.
merge_config kpis_config() {
  merge_config c;
  c.collection = "kpis";
  for (auto f : {"calls_planned", "calls_done", "samples_given", "new_accounts", "revenue"}) {
    c.field_strategies.emplace(f, "counter");
  }
  c.insert_existing = insert_existing_policy::merge_as_update;
  return c;
}

merge_config visits_config() {
  merge_config c;
  c.collection = "visits";
  c.field_strategies = {
      {"notes", "reject"}, {"next_steps", "reject"}, {"products_discussed", "set-union"}};
  return c;
}

row_merge_result merge(const merge_config& config, const row_merge_input& in) {
  auto r = merge_row(config, builtins(), in);
  REQUIRE(r.has_value());
  return *r;
}

row_merge_input update(std::string_view changes, std::string_view base,
                       std::optional<std::string_view> current, writer client = rep_a,
                       writer server = etl) {
  row_merge_input in;
  in.op = change_op::update;
  in.changes = row(changes);
  in.base = row(base);
  if (current) in.current = row(*current);
  in.client = std::move(client);
  in.server = std::move(server);
  return in;
}

}  // namespace

TEST_CASE("an update the server did not contest is applied", "[row_merge]") {
  auto r = merge(visits_config(), update(R"({"notes":"met Dr. Weber"})", R"({"notes":null})",
                                         R"({"id":"v1","notes":null,"channel":"phone"})"));
  CHECK(r.outcome == row_outcome::applied);
  CHECK(r.action == row_action::update);
  CHECK(r.row == row(R"({"id":"v1","notes":"met Dr. Weber","channel":"phone"})"));
  CHECK(r.conflicts.empty());
  CHECK(r.row_clock == rep_a.clock);
  REQUIRE(r.field_clocks.size() == 1);
  CHECK(r.field_clocks.at("notes") == *rep_a.clock);
}

TEST_CASE("fields the server changed meanwhile keep their values", "[row_merge]") {
  // The client changed channel; the server changed notes: both stand.
  auto r = merge(visits_config(), update(R"({"channel":"video"})", R"({"channel":"phone"})",
                                         R"({"id":"v1","notes":"by manager","channel":"phone"})"));
  CHECK(r.outcome == row_outcome::applied);
  CHECK(r.row == row(R"({"id":"v1","notes":"by manager","channel":"video"})"));
}

TEST_CASE("a field policy decides a real conflict and the conflict is reported", "[row_merge]") {
  merge_config c = visits_config();
  // stage: lww; the server's writer is later.
  auto in =
      update(R"({"stage":"proposal","name":"Q3 deal"})", R"({"stage":"qualification","name":"Q3"})",
             R"({"id":"o1","stage":"negotiation","name":"Q3"})", rep_b, rep_a);
  auto r = merge(c, in);
  CHECK(r.outcome == row_outcome::merged);
  CHECK(r.action == row_action::update);  // the name still changes
  CHECK(r.row == row(R"({"id":"o1","stage":"negotiation","name":"Q3 deal"})"));
  REQUIRE(r.conflicts.size() == 1);
  const auto& conflict = r.conflicts[0];
  CHECK(conflict.field == "stage");
  CHECK(conflict.strategy == "lww");
  CHECK(conflict.base == j(R"("qualification")"));
  CHECK(conflict.client == j(R"("proposal")"));
  CHECK(conflict.server == j(R"("negotiation")"));
  CHECK(conflict.merged == j(R"("negotiation")"));
  CHECK_FALSE(conflict.error);
  CHECK(r.field_clocks.count("stage") == 0);  // the server's value and clock stand
  CHECK(r.row_clock == rep_a.clock);
}

TEST_CASE("a rejecting policy rejects the whole mutation with the conflicting fields",
          "[row_merge]") {
  auto r = merge(visits_config(),
                 update(R"({"notes":"rep","next_steps":"call back","channel":"video"})",
                        R"({"notes":"","next_steps":"","channel":"phone"})",
                        R"({"id":"v1","notes":"manager","next_steps":"visit","channel":"phone"})"));
  CHECK(r.outcome == row_outcome::rejected);
  CHECK(r.action == row_action::none);
  CHECK(r.reason == merge_errc::conflict);
  CHECK(reason_code(merge_errc::conflict) == "conflict");
  CHECK(r.rejected_fields == std::vector<std::string>{"next_steps", "notes"});
  // The client rolls back to the current row; nothing of the mutation is applied.
  CHECK(r.row == row(R"({"id":"v1","notes":"manager","next_steps":"visit","channel":"phone"})"));
  REQUIRE(r.conflicts.size() == 2);
  CHECK(r.conflicts[1].field == "notes");
  CHECK(r.conflicts[1].strategy == "reject");
  CHECK(r.conflicts[1].error == merge_errc::conflict);
  CHECK_FALSE(r.conflicts[1].merged);
  CHECK(r.field_clocks.empty());
  CHECK_FALSE(r.row_clock);
}

TEST_CASE("counters from a KPI row and a device add up", "[row_merge]") {
  // The ETL loaded 12 calls; the rep logged 3 offline on top of the 10 it had seen.
  auto r = merge(
      kpis_config(),
      update(R"({"calls_done":13,"revenue":"1250.50"})", R"({"calls_done":10,"revenue":"1000.00"})",
             R"({"rep_id":7,"month":"2026-11-01","calls_done":12,"revenue":"1100.25"})"));
  CHECK(r.outcome == row_outcome::merged);
  CHECK(r.row == row(R"({"rep_id":7,"month":"2026-11-01","calls_done":15,"revenue":"1350.75"})"));
  CHECK(r.conflicts.size() == 2);
}

TEST_CASE("nothing to write when the client lost every field", "[row_merge]") {
  auto r = merge(visits_config(), update(R"({"stage":"proposal"})", R"({"stage":"qualification"})",
                                         R"({"id":"o1","stage":"negotiation"})", rep_b, rep_a));
  CHECK(r.outcome == row_outcome::merged);
  CHECK(r.action == row_action::none);
  CHECK(r.row == row(R"({"id":"o1","stage":"negotiation"})"));
}

TEST_CASE("the column types make numeric spellings equal", "[row_merge]") {
  fieldsync::protocol::collection_schema schema;
  schema.columns.push_back({"amount", type_of(type_class::numeric)});
  merge_config c;
  c.collection = "opportunities";
  c.default_strategy = "reject";

  // The server's value is a new spelling of the base: unchanged, once the type is known.
  auto in = update(R"({"amount":13})", R"({"amount":"12.50"})", R"({"id":1,"amount":"12.5"})");
  CHECK(merge(c, in).outcome == row_outcome::rejected);  // without types: a (spurious) conflict
  in.schema = &schema;
  auto r = merge(c, in);
  CHECK(r.outcome == row_outcome::applied);
  CHECK(r.row == row(R"({"id":1,"amount":13})"));

  // Both set 13, spelled differently: an agreement, nothing to write.
  in = update(R"({"amount":"13"})", R"({"amount":"12.50"})", R"({"id":1,"amount":"13.0"})");
  CHECK(merge(c, in).outcome == row_outcome::rejected);
  in.schema = &schema;
  r = merge(c, in);
  CHECK(r.outcome == row_outcome::applied);
  CHECK(r.action == row_action::none);
  CHECK(r.row == row(R"({"id":1,"amount":"13.0"})"));

  // The client resends the stored value in another spelling: the row keeps the stored one.
  in = update(R"({"amount":"13.00"})", R"({"amount":"13.0"})", R"({"id":1,"amount":"13.0"})");
  in.schema = &schema;
  r = merge(c, in);
  CHECK(r.action == row_action::none);
  CHECK(r.row == row(R"({"id":1,"amount":"13.0"})"));
}

TEST_CASE("an update of a deleted row follows update-vs-delete", "[row_merge]") {
  merge_config c = visits_config();
  auto in = update(R"({"notes":"x"})", R"({"notes":"old"})", std::nullopt);
  in.tombstone = row(R"({"id":"v1","notes":"old","channel":"phone"})");

  auto r = merge(c, in);  // default delete-wins
  CHECK(r.outcome == row_outcome::rejected);
  CHECK(r.reason == merge_errc::row_deleted);
  CHECK(reason_code(merge_errc::row_deleted) == "row_deleted");
  CHECK(r.row_policy == "delete-wins");
  CHECK(r.row.empty());
  CHECK(r.action == row_action::none);

  c.update_deleted = update_deleted_policy::update_wins;
  r = merge(c, in);
  CHECK(r.outcome == row_outcome::applied);
  CHECK(r.action == row_action::insert);
  CHECK(r.row_policy == "update-wins");
  CHECK(r.row == row(R"({"id":"v1","notes":"x","channel":"phone"})"));

  in.tombstone.reset();  // the log no longer has it: the client's base is all there is
  r = merge(c, in);
  CHECK(r.row == row(R"({"notes":"x"})"));
}

TEST_CASE("a delete of a changed row follows delete-vs-update", "[row_merge]") {
  merge_config c = visits_config();
  row_merge_input in;
  in.op = change_op::remove;
  in.base = row(R"({"id":"v1","notes":"a","channel":"phone"})");
  in.current = row(R"({"id":"v1","notes":"b","channel":"video"})");
  in.client = rep_a;

  auto r = merge(c, in);  // default reject
  CHECK(r.outcome == row_outcome::rejected);
  CHECK(r.reason == merge_errc::row_changed);
  CHECK(r.row_policy == "reject");
  CHECK(r.rejected_fields == std::vector<std::string>{"channel", "notes"});
  CHECK(r.row == *in.current);

  c.delete_changed = delete_changed_policy::delete_wins;
  r = merge(c, in);
  CHECK(r.outcome == row_outcome::applied);
  CHECK(r.action == row_action::remove);
  CHECK(r.row_policy == "delete-wins");
  CHECK(r.row.empty());

  // Nothing the client saw has changed (another column did): not a conflict.
  c.delete_changed = delete_changed_policy::reject;
  in.current = row(R"({"id":"v1","notes":"a","channel":"phone","updated_at":"later"})");
  r = merge(c, in);
  CHECK(r.action == row_action::remove);
  CHECK(r.row_policy.empty());

  // Without base values a delete cannot show it saw the changes.
  in.base = {};
  CHECK(merge(c, in).reason == merge_errc::row_changed);

  // Already gone.
  in.current.reset();
  r = merge(c, in);
  CHECK(r.outcome == row_outcome::applied);
  CHECK(r.action == row_action::none);
}

TEST_CASE("an insert on an existing key follows insert-on-existing", "[row_merge]") {
  row_merge_input in;
  in.op = change_op::insert;
  in.changes = row(R"({"rep_id":7,"month":"2026-11-01","calls_done":3,"revenue":"10.00"})");
  in.current = row(R"({"rep_id":7,"month":"2026-11-01","calls_done":5,"revenue":"1.50"})");
  in.client = rep_a;
  in.server = etl;

  merge_config c = kpis_config();
  c.insert_existing = insert_existing_policy::reject;
  auto r = merge(c, in);
  CHECK(r.outcome == row_outcome::rejected);
  CHECK(r.reason == merge_errc::row_exists);
  CHECK(r.row == *in.current);

  // merge-as-update: an empty base, so the counters add the client's whole values.
  r = merge(kpis_config(), in);
  CHECK(r.outcome == row_outcome::merged);
  CHECK(r.action == row_action::update);
  CHECK(r.row_policy == "merge-as-update");
  CHECK(r.row == row(R"({"rep_id":7,"month":"2026-11-01","calls_done":8,"revenue":"11.50"})"));

  // A fresh key is a plain insert.
  in.current.reset();
  r = merge(kpis_config(), in);
  CHECK(r.outcome == row_outcome::applied);
  CHECK(r.action == row_action::insert);
  CHECK(r.row == in.changes);
  CHECK(r.field_clocks.size() == 4);
}

TEST_CASE("row merges do not depend on JSON key order", "[row_merge]") {
  auto a = update(R"({"notes":"n","channel":"video","stage":"x"})",
                  R"({"notes":"","channel":"phone","stage":"a"})",
                  R"({"id":"v1","stage":"b","notes":"","channel":"phone"})");
  auto b = update(R"({"stage":"x","channel":"video","notes":"n"})",
                  R"({"stage":"a","notes":"","channel":"phone"})",
                  R"({"id":"v1","stage":"b","notes":"","channel":"phone"})");
  auto ra = merge(visits_config(), a);
  auto rb = merge(visits_config(), b);
  CHECK(ra.row == rb.row);
  CHECK(boost::json::serialize(ra.row) == boost::json::serialize(rb.row));
  CHECK(ra.conflicts.size() == rb.conflicts.size());
  CHECK(ra.field_clocks == rb.field_clocks);
}

TEST_CASE("an unknown strategy is an error, not a rejection", "[row_merge]") {
  merge_config c;
  c.collection = "x";
  c.field_strategies.emplace("f", "no-such-thing");
  auto in = update(R"({"f":1})", R"({"f":0})", R"({"f":2})");
  auto r = merge_row(c, builtins(), in);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == merge_errc::unknown_strategy);
}

TEST_CASE("the demo's mix of policies commutes for two devices", "[row_merge][property]") {
  // kpis: counters; accounts: tags by set-union, the rest lww. Two devices edit from one base.
  merge_config c;
  c.collection = "accounts";
  c.field_strategies = {{"tags", "set-union"}, {"visits_logged", "counter"}};
  rng r(5);
  for (int i = 0; i < 1000; ++i) {
    auto tags = [&] {
      boost::json::array a;
      for (auto t : {"kol", "rural", "vip", "digital"}) {
        if (r.chance(50)) a.emplace_back(t);
      }
      return a;
    };
    boost::json::object base_row{
        {"id", "acc-1"}, {"segment", "B"}, {"tags", tags()}, {"visits_logged", r.between(0, 9)}};
    server_row start{base_row, etl, std::nullopt};
    auto edit = [&](const writer& w) {
      mutation m;
      m.client = w;
      if (r.chance(50)) m.changes["segment"] = r.pick({"A", "B", "C"});
      if (r.chance(50)) m.changes["tags"] = tags();
      if (r.chance(50)) {
        m.changes["visits_logged"] = base_row.at("visits_logged").as_int64() + r.between(0, 3);
      }
      for (const auto& kv : m.changes) m.base[kv.key()] = base_row.at(kv.key());
      return m;
    };
    auto m1 = edit(writer{clock(1'000 + r.between(1, 3), 0, "a"), "a"});
    auto m2 = edit(writer{clock(1'000 + r.between(1, 3), 0, "b"), "b"});
    auto orders = both_orders(c, start, m1, m2);
    const auto& x = orders.first_then_second.row;
    const auto& y = orders.second_then_first.row;
    CHECK(same_value(x.at("segment"), y.at("segment")));
    CHECK(builtins().find("set-union")->same(x.at("tags"), y.at("tags"), {}));
    CHECK(same_value(x.at("visits_logged"), y.at("visits_logged")));
  }
}
