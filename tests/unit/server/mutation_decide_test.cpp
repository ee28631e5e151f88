// The pure steps of a mutation batch: the plan (checks without the database, what to lock
// and read) and the decision (what each mutation becomes given what the transaction read).
// No database: the rows, clocks, log versions and stored results are written out here.

#include "conflicts/hlc.hpp"
#include "server/mutations/mutation_decide.hpp"
#include "server/mutations/mutation_plan.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <chrono>

namespace fieldsync::server {
namespace {

namespace json = boost::json;

constexpr std::int64_t now = 1'800'000'000'000;  // the server's clock in these tests

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

std::string clock_text(std::int64_t ms, std::string_view node = "c1") {
  return conflicts::hlc::make(ms, 0, node).value().to_string();
}

protocol::collection_schema visits_schema() {
  protocol::collection_schema s;
  s.name = "visits";
  s.schema_name = "public";
  s.table_name = "visits";
  s.primary_key = {"id"};
  auto add = [&](std::string name, protocol::type_oid oid, bool not_null = false) {
    protocol::column_schema c;
    c.name = std::move(name);
    c.type = protocol::describe_type(oid);
    c.not_null = not_null;
    s.columns.push_back(std::move(c));
  };
  add("id", protocol::oids::int8, true);
  add("territory_id", protocol::oids::int8);
  add("notes", protocol::oids::text);
  add("amount", protocol::oids::int8);  // counter
  add("stage", protocol::oids::text);   // reject
  return s;
}

collection_config visits_config() {
  collection_config c;
  c.name = "visits";
  c.primary_key = {"id"};
  c.read_scope = "territory_id = ANY($claims.territories)";
  c.write_scope = "territory_id = ANY($claims.territories)";
  return c;
}

// One batch of client "c1" by a rep of territories 1 and 2, planned; the test fills the rows
// its transaction would read, then decides.
struct batch_fixture {
  collection_registry collections{{visits_config()}, {visits_schema()}};
  std::map<std::string, conflicts::merge_config> merges;
  conflicts::strategy_registry registry = conflicts::strategy_registry::builtin();
  principal who{"rep-1", obj(R"({"territories":[1,2]})"), {}, {}};
  protocol::mutation_batch batch;
  std::vector<planned_mutation> plans;
  row_states rows;

  batch_fixture() {
    auto& m = merges["visits"];
    m.collection = "visits";
    m.field_strategies = {{"amount", "counter"}, {"stage", "reject"}};
  }

  // `mutations`: the JSON array of the batch.
  void plan(std::string_view mutations) {
    auto parsed = protocol::parse_mutation_batch(
        json::parse(R"({"client_id":"c1","mutations":)" + std::string(mutations) + "}"), {});
    REQUIRE(parsed.has_value());
    batch = std::move(*parsed);
    plans = plan_mutations(batch, who, plan_context{collections, merges, {}, std::chrono::seconds(60), now});
    for (const auto& p : plans) {
      if (p.checked) rows[{"visits", p.checked->key_text}];  // every key read, found or not
    }
  }

  row_state& row(const std::string& key, std::string_view values) {
    auto& s = rows[{"visits", key}];
    s.row = obj(values);
    s.xmin = 700;
    return s;
  }

  batch_decision decide(std::int64_t last = 0, const std::vector<storage::stored_result>& stored = {}) {
    return decide_batch(plans, stored, rows, decide_context{who, batch.client_id, last, registry, {}});
  }
};

storage::log_row log_version(const std::string& key, std::string_view version, std::string_view row,
                             bool deleted = false) {
  storage::log_row l;
  l.key = key;
  l.version = *protocol::lsn::parse(version);
  l.deleted = deleted;
  l.row = obj(row);
  return l;
}

const json::object& result(const batch_decision& d, std::size_t i) { return d.results.at(i).as_object(); }

std::string text(const json::value& v) { return v.is_string() ? std::string(v.get_string()) : json::serialize(v); }

}  // namespace

TEST_CASE("plan: checks without the database reject a mutation on its own", "[mutation_plan]") {
  batch_fixture f;
  f.plan(R"([
    {"mutation_id":1,"collection":"nope","op":"update","key":{"id":1},"set":{"notes":"x"}},
    {"mutation_id":2,"collection":"visits","op":"update","key":{"id":1},"set":{"notes":"x"},
     "client_ts":")" + clock_text(now, "somebody") + R"("},
    {"mutation_id":3,"collection":"visits","op":"update","key":{"id":1},"set":{"notes":"x"},
     "client_ts":")" + clock_text(now + 60'001) + R"("},
    {"mutation_id":4,"collection":"visits","op":"update","key":{"id":1},"set":{"notes":"x"},
     "client_ts":")" + clock_text(now + 60'000) + R"("}
  ])");
  REQUIRE(f.plans.size() == 4);
  CHECK(f.plans[0].problem->code == protocol::mutation_errc::unknown_collection);
  CHECK(f.plans[1].problem->code == protocol::mutation_errc::bad_clock);
  CHECK(f.plans[2].problem->code == protocol::mutation_errc::clock_drift);
  CHECK_FALSE(f.plans[3].problem);
  REQUIRE(f.plans[3].clock);
  CHECK(f.plans[3].clock->physical_ms() == now + 60'000);
  CHECK(f.plans[3].merge == &f.merges.at("visits"));
}

TEST_CASE("plan: each key is locked and read once, the log read where a version matters",
          "[mutation_plan]") {
  batch_fixture f;
  f.plan(R"([
    {"mutation_id":1,"collection":"visits","op":"update","key":{"id":2},"set":{"notes":"x"}},
    {"mutation_id":2,"collection":"visits","op":"update","key":{"id":1},"set":{"notes":"y"},
     "base_version":"0/10"},
    {"mutation_id":3,"collection":"visits","op":"update","key":{"id":2},"set":{"notes":"z"}},
    {"mutation_id":4,"collection":"nope","op":"delete","key":{"id":3}}
  ])");
  auto reads = plan_reads(f.plans);
  REQUIRE(reads.size() == 1);
  const auto& r = reads.at("visits");
  CHECK(r.keys == std::vector<std::string>{"2", "1"});
  CHECK(r.key_texts == std::vector<std::vector<std::string>>{{"2"}, {"1"}});
  CHECK(r.log_keys == std::vector<std::string>{"1"});

  SECTION("update-wins reads every key's log: a deleted row comes back from its last values") {
    f.merges["visits"].update_deleted = conflicts::update_deleted_policy::update_wins;
    CHECK(plan_reads(f.plans).at("visits").log_keys == std::vector<std::string>{"2", "1"});
  }
}

TEST_CASE("decide: an insert of a new key is applied and writes the whole row", "[mutation_decide]") {
  batch_fixture f;
  f.plan(R"([{"mutation_id":1,"collection":"visits","op":"insert",
              "set":{"id":3,"territory_id":1,"notes":"new"}}])");
  auto d = f.decide();
  CHECK(json::serialize(d.results) == R"([{"mutation_id":1,"status":"applied"}])");
  CHECK(d.wrote == std::vector<bool>{true});
  REQUIRE(d.writes.size() == 1);
  CHECK(d.writes[0].what == row_write::kind::insert);
  CHECK(d.writes[0].mutation == 0);
  CHECK(d.writes[0].values == storage::column_values{{"id", "3"}, {"territory_id", "1"}, {"notes", "new"}});
  CHECK(d.last_mutation_id == 1);
  REQUIRE(d.stored_results.size() == 1);
  CHECK(d.stored_results[0].as_object().at("key") == "3");
  CHECK(d.stored_results[0].as_object().at("wrote") == true);
  CHECK(d.conflicts.empty());
  CHECK(d.clocks.empty());  // no clock on either side: nothing to remember
}

TEST_CASE("decide: an update on the current values is applied and writes the changed columns only",
          "[mutation_decide]") {
  batch_fixture f;
  f.plan(R"([{"mutation_id":5,"collection":"visits","op":"update","key":{"id":1},
              "set":{"notes":"b","amount":5},"base":{"notes":"a","amount":5}}])");
  f.row("1", R"({"id":1,"territory_id":1,"notes":"a","amount":5,"stage":"open"})");
  auto d = f.decide(4);
  CHECK(json::serialize(d.results) == R"([{"mutation_id":5,"status":"applied"}])");
  REQUIRE(d.writes.size() == 1);
  CHECK(d.writes[0].what == row_write::kind::update);
  CHECK(d.writes[0].key == std::vector<std::string>{"1"});
  CHECK(d.writes[0].values == storage::column_values{{"notes", "b"}});
  CHECK(d.last_mutation_id == 5);
}

TEST_CASE("decide: a mutation that changes nothing writes nothing and reports the row's version",
          "[mutation_decide]") {
  batch_fixture f;
  f.plan(R"([{"mutation_id":1,"collection":"visits","op":"update","key":{"id":1},
              "set":{"notes":"a"},"base":{"notes":"a"}}])");
  auto& s = f.row("1", R"({"id":1,"territory_id":1,"notes":"a"})");

  SECTION("the log holds the row as it is: its version") {
    s.log = log_version("1", "0/10", R"({"id":1,"territory_id":1,"notes":"a"})");
    auto d = f.decide();
    CHECK(json::serialize(d.results) == R"([{"mutation_id":1,"status":"applied","version":"0/10"}])");
    CHECK(d.wrote == std::vector<bool>{false});
    CHECK(d.writes.empty());
  }
  SECTION("the log has not caught up with the row: unknown") {
    s.log = log_version("1", "0/10", R"({"id":1,"territory_id":1,"notes":"older"})");
    auto d = f.decide();
    CHECK(result(d, 0).at("version").is_null());
  }
}

TEST_CASE("decide: a concurrent counter edit is merged, with the merged row and the conflict recorded",
          "[mutation_decide]") {
  batch_fixture f;
  f.plan(R"([{"mutation_id":1,"collection":"visits","op":"update","key":{"id":1},
              "set":{"amount":7},"base":{"amount":5}}])");
  f.row("1", R"({"id":1,"territory_id":1,"amount":6})");
  auto d = f.decide();
  const auto& r = result(d, 0);
  CHECK(r.at("status") == "merged");
  CHECK(r.at("row") == json::value(obj(R"({"id":1,"territory_id":1,"amount":8})")));
  REQUIRE(r.at("conflicts").as_array().size() == 1);
  CHECK(r.at("conflicts").as_array()[0].as_object().at("strategy") == "counter");
  CHECK_FALSE(r.contains("version"));  // its write's version comes with the commit
  REQUIRE(d.writes.size() == 1);
  CHECK(d.writes[0].values == storage::column_values{{"amount", "8"}});
  REQUIRE(d.conflicts.size() == 1);
  CHECK(d.conflicts[0].as_object().at("outcome") == "merged");
  CHECK(d.conflicts[0].as_object().at("reason").is_null());
}

TEST_CASE("decide: a merge that rejects answers the reason and the current row, and writes nothing",
          "[mutation_decide]") {
  batch_fixture f;

  SECTION("both sides changed a field whose policy is reject: conflict") {
    f.plan(R"([{"mutation_id":1,"collection":"visits","op":"update","key":{"id":1},
                "set":{"stage":"won"},"base":{"stage":"open"}}])");
    f.row("1", R"({"id":1,"territory_id":1,"stage":"lost"})");
    auto d = f.decide();
    const auto& r = result(d, 0);
    CHECK(r.at("status") == "rejected");
    CHECK(r.at("code") == "conflict");
    CHECK(r.at("message") == "both you and somebody else changed stage; the current row is attached");
    CHECK(r.at("row") == json::value(obj(R"({"id":1,"territory_id":1,"stage":"lost"})")));
    CHECK(r.at("version").is_null());
    CHECK(json::serialize(r.at("fields")) == R"(["stage"])");
    CHECK(d.writes.empty());
    CHECK(d.wrote == std::vector<bool>{false});
    REQUIRE(d.conflicts.size() == 1);
    CHECK(d.conflicts[0].as_object().at("outcome") == "rejected");
    CHECK(d.conflicts[0].as_object().at("reason") == "conflict");
    CHECK(d.last_mutation_id == 1);  // a rejected mutation still advances the client
  }
  SECTION("an insert of an existing key: row_exists") {
    f.plan(R"([{"mutation_id":1,"collection":"visits","op":"insert",
                "set":{"id":1,"territory_id":1,"notes":"mine"}}])");
    f.row("1", R"({"id":1,"territory_id":1,"notes":"theirs"})");
    auto d = f.decide();
    CHECK(result(d, 0).at("code") == "row_exists");
    CHECK(result(d, 0).at("message") == "a row with this key exists");
    CHECK(d.conflicts[0].as_object().at("row_policy") == "reject");
  }
  SECTION("an update of a row deleted meanwhile: row_deleted, with the delete's version") {
    f.plan(R"([{"mutation_id":1,"collection":"visits","op":"update","key":{"id":1},
                "set":{"notes":"x"},"base":{"notes":"a"}}])");
    f.rows[{"visits", "1"}].log = log_version("1", "0/20", R"({"id":1,"territory_id":1,"notes":"a"})", true);
    auto d = f.decide();
    CHECK(result(d, 0).at("code") == "row_deleted");
    CHECK(result(d, 0).at("row").is_null());
    CHECK(result(d, 0).at("version") == "0/20");
  }
  SECTION("a delete of a row changed meanwhile: row_changed with the fields") {
    f.plan(R"([{"mutation_id":1,"collection":"visits","op":"delete","key":{"id":1},
                "base":{"id":1,"territory_id":1,"notes":"a"}}])");
    f.row("1", R"({"id":1,"territory_id":1,"notes":"b"})");
    auto d = f.decide();
    CHECK(result(d, 0).at("code") == "row_changed");
    CHECK(result(d, 0).at("message") == "the row changed since you saw it (notes)");
  }
}

TEST_CASE("decide: deletes", "[mutation_decide]") {
  batch_fixture f;
  f.plan(R"([{"mutation_id":1,"collection":"visits","op":"delete","key":{"id":1},
              "base":{"id":1,"territory_id":1,"notes":"a"}}])");

  SECTION("of the row as the client saw it: applied and written") {
    f.row("1", R"({"id":1,"territory_id":1,"notes":"a"})");
    auto d = f.decide();
    CHECK(json::serialize(d.results) == R"([{"mutation_id":1,"status":"applied"}])");
    REQUIRE(d.writes.size() == 1);
    CHECK(d.writes[0].what == row_write::kind::remove);
    CHECK(d.writes[0].key == std::vector<std::string>{"1"});
  }
  SECTION("of a row that is gone: applied, nothing written, the delete's version when known") {
    f.rows[{"visits", "1"}].log = log_version("1", "0/30", R"({"id":1})", true);
    auto d = f.decide();
    CHECK(json::serialize(d.results) == R"([{"mutation_id":1,"status":"applied","version":"0/30"}])");
    CHECK(d.writes.empty());
  }
  SECTION("of a row never seen: applied, nothing written, no version") {
    auto d = f.decide();
    CHECK(json::serialize(d.results) == R"([{"mutation_id":1,"status":"applied","version":null}])");
    CHECK(d.writes.empty());
  }
}

TEST_CASE("decide: ids already applied answer duplicate, with the stored original when kept",
          "[mutation_decide]") {
  batch_fixture f;
  f.plan(R"([
    {"mutation_id":1,"collection":"visits","op":"update","key":{"id":1},"set":{"notes":"x"}},
    {"mutation_id":2,"collection":"visits","op":"update","key":{"id":1},"set":{"notes":"y"}},
    {"mutation_id":3,"collection":"visits","op":"insert","set":{"id":4,"territory_id":2}}
  ])");
  storage::stored_result original;
  original.mutation_id = 2;
  original.result = obj(R"({"mutation_id":2,"status":"applied"})");
  original.collection = "visits";
  original.key = "1";
  original.xid = 650;
  auto d = f.decide(2, {original});
  CHECK(json::serialize(d.results[0]) ==
        R"({"mutation_id":1,"status":"duplicate","original":null,"message":"applied before; its result is no longer kept"})");
  CHECK(json::serialize(d.results[1]) == R"({"mutation_id":2,"status":"duplicate","original":null})");
  CHECK(d.duplicate_positions == std::vector<std::size_t>{1});
  REQUIRE(d.duplicate_originals.size() == 1);
  CHECK(d.duplicate_originals[0].xid == 650u);
  CHECK(result(d, 2).at("status") == "applied");
  CHECK(d.wrote == std::vector<bool>{false, false, true});
  REQUIRE(d.writes.size() == 1);
  CHECK(d.writes[0].mutation == 2);
  // Only the new id is stored; the client advances to the batch's end.
  REQUIRE(d.stored_results.size() == 1);
  CHECK(d.stored_results[0].as_object().at("mutation_id") == 3);
  CHECK(d.last_mutation_id == 3);
}

TEST_CASE("decide: a batch entirely of duplicates leaves the client's last id", "[mutation_decide]") {
  batch_fixture f;
  f.plan(R"([{"mutation_id":1,"collection":"visits","op":"update","key":{"id":1},"set":{"notes":"x"}}])");
  auto d = f.decide(9);
  CHECK(d.last_mutation_id == 9);
  CHECK(d.stored_results.empty());
  CHECK(d.writes.empty());
}

TEST_CASE("decide: a mutation the plan rejected answers its problem and still counts", "[mutation_decide]") {
  batch_fixture f;
  f.plan(R"([
    {"mutation_id":1,"collection":"nope","op":"update","key":{"id":1},"set":{"notes":"x"}},
    {"mutation_id":2,"collection":"visits","op":"insert","set":{"id":5,"territory_id":1}}
  ])");
  auto d = f.decide();
  CHECK(result(d, 0).at("status") == "rejected");
  CHECK(result(d, 0).at("code") == "unknown_collection");
  CHECK(result(d, 0).at("message") == "no collection nope");
  CHECK(d.stored_results[0].as_object().at("key").is_null());
  CHECK(result(d, 1).at("status") == "applied");
  CHECK(d.last_mutation_id == 2);
}

TEST_CASE("decide: the write scope holds before and after the merge", "[mutation_decide]") {
  batch_fixture f;

  SECTION("a row outside it is not touched") {
    f.plan(R"([{"mutation_id":1,"collection":"visits","op":"update","key":{"id":1},"set":{"notes":"x"}}])");
    f.row("1", R"({"id":1,"territory_id":9,"notes":"a"})");
    auto d = f.decide();
    CHECK(result(d, 0).at("code") == "forbidden");
    CHECK(result(d, 0).at("message") == "the row is outside your write scope");
    CHECK(d.writes.empty());
  }
  SECTION("a row may not be moved out of it") {
    f.plan(R"([{"mutation_id":1,"collection":"visits","op":"update","key":{"id":1},
                "set":{"territory_id":9},"base":{"territory_id":1}}])");
    f.row("1", R"({"id":1,"territory_id":1,"notes":"a"})");
    auto d = f.decide();
    CHECK(result(d, 0).at("code") == "forbidden");
    CHECK(result(d, 0).at("message") == "the row would leave your write scope");
    CHECK(d.writes.empty());
  }
}

TEST_CASE("decide: later mutations of a batch see the earlier ones' rows and clocks", "[mutation_decide]") {
  batch_fixture f;
  const auto ts1 = clock_text(now - 2000);
  const auto ts2 = clock_text(now - 1000);
  f.plan(R"([
    {"mutation_id":1,"collection":"visits","op":"insert","set":{"id":7,"territory_id":1,"notes":"a"},
     "client_ts":")" + ts1 + R"("},
    {"mutation_id":2,"collection":"visits","op":"update","key":{"id":7},"set":{"notes":"b"},
     "base":{"notes":"a"},"client_ts":")" + ts2 + R"("}
  ])");
  auto d = f.decide();
  CHECK(json::serialize(d.results) ==
        R"([{"mutation_id":1,"status":"applied"},{"mutation_id":2,"status":"applied"}])");
  REQUIRE(d.writes.size() == 2);
  CHECK(d.writes[0].what == row_write::kind::insert);
  CHECK(d.writes[1].what == row_write::kind::update);  // the row the insert made
  CHECK(d.writes[1].values == storage::column_values{{"notes", "b"}});
  // One clock record per row: the last one, naming this transaction's row version.
  REQUIRE(d.clocks.size() == 1);
  const auto& c = d.clocks[0].as_object();
  CHECK(c.at("key") == "7");
  CHECK(c.at("own") == true);
  CHECK(text(c.at("row_clock")) == ts2);
  CHECK(text(c.at("field_clocks").as_object().at("notes")) == ts2);
  CHECK(text(c.at("field_clocks").as_object().at("territory_id")) == ts1);
  CHECK(c.at("deleted") == false);
}

TEST_CASE("decide: a later clock of the server's last writer keeps its value (lww)", "[mutation_decide]") {
  batch_fixture f;
  f.plan(R"([{"mutation_id":1,"collection":"visits","op":"update","key":{"id":1},"set":{"notes":"mine"},
              "base":{"notes":"a"},"client_ts":")" + clock_text(now - 5000) + R"("}])");
  auto& s = f.row("1", R"({"id":1,"territory_id":1,"notes":"theirs"})");
  storage::stored_clocks clocks;
  clocks.key = "1";
  clocks.xid = s.xmin;  // they describe the row as it is
  clocks.client_id = "c2";
  clocks.row_clock = clock_text(now - 1000, "c2");
  clocks.field_clocks = {{"notes", clock_text(now - 1000, "c2")}};
  s.stored = clocks;
  auto d = f.decide();
  CHECK(result(d, 0).at("status") == "merged");
  CHECK(result(d, 0).at("row").as_object().at("notes") == "theirs");
  CHECK(d.writes.empty());
  CHECK(result(d, 0).at("version").is_null());

  SECTION("clocks of an older row version do not count: the client's edit wins") {
    f.rows[{"visits", "1"}].stored->xid = 1;
    auto again = f.decide();
    CHECK(result(again, 0).at("status") == "applied");
    REQUIRE(again.writes.size() == 1);
  }
}

}  // namespace fieldsync::server

namespace fieldsync::server {
namespace {

// kpis-like: keyed by (rep_id, month), written only by its rep.
protocol::collection_schema kpis_schema() {
  protocol::collection_schema s;
  s.name = "kpis";
  s.schema_name = "public";
  s.table_name = "kpis";
  s.primary_key = {"rep_id", "month"};
  for (auto [name, oid] :
       {std::pair{"rep_id", protocol::oids::int8}, std::pair{"month", protocol::oids::int8},
        std::pair{"calls", protocol::oids::int8}}) {
    protocol::column_schema c;
    c.name = name;
    c.type = protocol::describe_type(oid);
    c.not_null = true;
    s.columns.push_back(std::move(c));
  }
  return s;
}

collection_config kpis_config() {
  collection_config c;
  c.name = "kpis";
  c.primary_key = {"rep_id", "month"};
  c.read_scope = "rep_id = $claims.rep_id";
  c.write_scope = "rep_id = $claims.rep_id";
  return c;
}

protocol::collection_schema notes_schema() {
  auto s = visits_schema();
  protocol::column_schema rep;
  rep.name = "rep_id";
  rep.type = protocol::describe_type(protocol::oids::int8);
  rep.not_null = true;
  s.columns.push_back(rep);
  protocol::column_schema at;
  at.name = "updated_at";
  at.type = protocol::describe_type(protocol::oids::timestamptz);
  at.not_null = true;
  s.columns.push_back(at);
  return s;
}

std::vector<planned_mutation> plan_with(
    const collection_registry& collections,
    const std::map<std::string, column_rules, std::less<>>* columns, const principal& who,
    const protocol::mutation_batch& batch) {
  static const std::map<std::string, conflicts::merge_config> merges;
  plan_context ctx{collections, merges, {}, std::chrono::seconds(60), now, columns};
  return plan_mutations(batch, who, ctx);
}

protocol::mutation_batch batch_of(std::string_view mutations) {
  auto parsed = protocol::parse_mutation_batch(
      json::parse(R"({"client_id":"c1","mutations":)" + std::string(mutations) + "}"), {});
  REQUIRE(parsed.has_value());
  return std::move(*parsed);
}

}  // namespace

TEST_CASE("plan: a key outside a write scope that decides on the key is refused whatever exists",
          "[mutation_plan]") {
  collection_registry collections{{kpis_config()}, {kpis_schema()}};
  principal who{"rep-7", obj(R"({"rep_id":7})"), {}, {}};
  auto batch = batch_of(R"([
    {"mutation_id":1,"collection":"kpis","op":"delete","key":{"rep_id":8,"month":1}},
    {"mutation_id":2,"collection":"kpis","op":"update","key":{"rep_id":8,"month":1},"set":{"calls":1}},
    {"mutation_id":3,"collection":"kpis","op":"insert","set":{"rep_id":8,"month":1,"calls":1}},
    {"mutation_id":4,"collection":"kpis","op":"delete","key":{"rep_id":7,"month":1}}
  ])");
  auto plans = plan_with(collections, nullptr, who, batch);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO(i);
    REQUIRE(plans[i].problem);
    CHECK(plans[i].problem->code == protocol::mutation_errc::forbidden);
    CHECK(plans[i].problem->message == "the key is outside your write scope");
  }
  CHECK_FALSE(plans[3].problem);
  // Nothing of the refused keys is read or locked.
  CHECK(plan_reads(plans).at("kpis").keys == std::vector<std::string>{plans[3].checked->key_text});
}

TEST_CASE("plan: column rules refuse unwritable columns and fill server-set ones",
          "[mutation_plan]") {
  collection_registry collections{{visits_config()}, {notes_schema()}};
  column_rules_config config;
  config.writable = {"notes", "territory_id"};
  config.server_set = {{"rep_id", "$claims.rep_id"}, {"updated_at", "now()"}};
  auto rules = make_column_rules(config, notes_schema());
  REQUIRE(rules.has_value());
  std::map<std::string, column_rules, std::less<>> columns{{"visits", *rules}};
  principal who{"rep-7", obj(R"({"rep_id":7,"territories":[1]})"), {}, {}};
  auto batch = batch_of(R"([
    {"mutation_id":1,"collection":"visits","op":"insert","set":{"id":1,"territory_id":1,"notes":"a"}},
    {"mutation_id":2,"collection":"visits","op":"insert","set":{"id":2,"territory_id":1,"rep_id":7,
     "updated_at":"2001-01-01T00:00:00Z"}},
    {"mutation_id":3,"collection":"visits","op":"insert","set":{"id":3,"territory_id":1,"rep_id":8}},
    {"mutation_id":4,"collection":"visits","op":"update","key":{"id":1},"set":{"rep_id":7}},
    {"mutation_id":5,"collection":"visits","op":"update","key":{"id":1},"set":{"stage":"won"}},
    {"mutation_id":6,"collection":"visits","op":"update","key":{"id":1},
     "set":{"notes":"b","updated_at":"2001-01-01T00:00:00Z"}},
    {"mutation_id":7,"collection":"visits","op":"delete","key":{"id":1}}
  ])");
  auto plans = plan_with(collections, &columns, who, batch);
  REQUIRE(plans.size() == 7);
  // The claim is filled in; a now() column the client sent is the server's to set.
  REQUIRE_FALSE(plans[0].problem);
  CHECK(plans[0].checked->changes.at("rep_id") == 7);
  CHECK_FALSE(plans[0].checked->changes.contains("updated_at"));
  REQUIRE_FALSE(plans[1].problem);
  CHECK_FALSE(plans[1].checked->changes.contains("updated_at"));
  for (std::size_t i : {2U, 3U, 4U}) {
    INFO(i);
    REQUIRE(plans[i].problem);
    CHECK(plans[i].problem->code == protocol::mutation_errc::forbidden);
    CHECK_THAT(plans[i].problem->message, Catch::Contains("column_not_writable"));
  }
  REQUIRE_FALSE(plans[5].problem);
  CHECK(plans[5].checked->changes == obj(R"({"notes":"b"})"));
  CHECK_FALSE(plans[6].problem);

  SECTION("a token without the claim cannot insert") {
    principal anonymous{"x", obj(R"({"territories":[1]})"), {}, {}};
    auto p = plan_with(collections, &columns, anonymous, batch);
    REQUIRE(p[0].problem);
    CHECK(p[0].problem->code == protocol::mutation_errc::forbidden);
  }
  SECTION("the writes set the now() columns") {
    row_states rows;
    for (const auto& p : plans) {
      if (p.checked) rows[{"visits", p.checked->key_text}];
    }
    conflicts::strategy_registry registry = conflicts::strategy_registry::builtin();
    auto d = decide_batch(plans, {}, rows, decide_context{who, batch.client_id, 0, registry, {}});
    REQUIRE(d.writes.size() >= 2);
    CHECK(d.writes[0].what == row_write::kind::insert);
    CHECK(d.writes[0].now_columns == std::vector<std::string>{"updated_at"});
    CHECK(d.writes[0].check_scope);
  }
}

TEST_CASE("column rules name existing columns and known sources", "[mutation_plan]") {
  column_rules_config bad_column;
  bad_column.writable = {"nope"};
  CHECK_FALSE(make_column_rules(bad_column, notes_schema()).has_value());
  column_rules_config bad_set;
  bad_set.server_set = {{"nope", "now()"}};
  CHECK_FALSE(make_column_rules(bad_set, notes_schema()).has_value());
  column_rules_config not_time;
  not_time.server_set = {{"notes", "now()"}};
  CHECK_FALSE(make_column_rules(not_time, notes_schema()).has_value());
  column_rules_config bad_source;
  bad_source.server_set = {{"notes", "$claim.x"}};
  CHECK_FALSE(make_column_rules(bad_source, notes_schema()).has_value());
}

TEST_CASE("decide: an insert's scope is left to the database when defaults complete the row",
          "[mutation_decide]") {
  batch_fixture f;
  SECTION("every column given: decided here") {
    f.plan(R"([{"mutation_id":1,"collection":"visits","op":"insert",
                "set":{"id":3,"territory_id":9,"notes":"n","amount":1,"stage":"s"}}])");
    auto d = f.decide();
    CHECK(result(d, 0).at("code") == "forbidden");
    CHECK(d.writes.empty());
  }
  SECTION("columns left to their defaults: the insert checks the row as stored") {
    f.plan(R"([{"mutation_id":1,"collection":"visits","op":"insert","set":{"id":3,"notes":"n"}}])");
    auto d = f.decide();
    REQUIRE(d.writes.size() == 1);
    CHECK(d.writes[0].check_scope);
  }
}

TEST_CASE("decide: a rejection is stored without the row and with a bounded message",
          "[mutation_decide]") {
  batch_fixture f;
  f.plan(R"([{"mutation_id":1,"collection":"visits","op":"update","key":{"id":1},
              "set":{"stage":"won"},"base":{"stage":"open"}}])");
  f.row("1",
        R"({"id":1,"territory_id":1,"stage":"lost","notes":")" + std::string(10000, 'x') + R"("})");
  auto d = f.decide();
  CHECK(result(d, 0).contains("row"));  // the answer shows it
  const auto& stored = d.stored_results.at(0).as_object().at("result").as_object();
  CHECK_FALSE(stored.contains("row"));
  CHECK_FALSE(stored.contains("conflicts"));
  CHECK(stored.at("code") == "conflict");
  CHECK(json::serialize(stored).size() < 1024);
}

}  // namespace fieldsync::server
