// The pgoutput message stream turned into committed transactions of collection changes
// (protocol/transaction_assembler.hpp), fed decoded messages directly.

#include "protocol/transaction_assembler.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <initializer_list>
#include <optional>
#include <string>

using namespace fieldsync::protocol;
namespace json = boost::json;
using event = transaction_assembler::event;

namespace {

constexpr std::uint32_t items_oid = 16401;
constexpr std::uint32_t notes_oid = 16402;
constexpr std::uint32_t audit_oid = 16403;  // published, not a collection

collection_schema items() {
  collection_schema s;
  s.name = "items";
  s.schema_name = "public";
  s.table_name = "items";
  s.primary_key = {"id"};
  s.columns = {
      {"id", describe_type(oids::int4), true, false},
      {"name", describe_type(oids::text), false, false},
      {"territory", describe_type(oids::int4), false, false},
      {"note", describe_type(oids::text), false, false},
  };
  return s;
}

collection_schema notes() {
  collection_schema s;
  s.name = "notes";
  s.schema_name = "sales";
  s.table_name = "notes";
  s.primary_key = {"id"};
  s.columns = {{"id", describe_type(oids::int8), true, false},
               {"body", describe_type(oids::text), false, false}};
  return s;
}

relation_column column(std::string name, type_oid type, bool key = false) {
  return relation_column{key, std::move(name), type, -1};
}

// public.items as pgoutput describes it: one column ("secret") is not synced.
relation_message items_relation(char identity = 'f') {
  return relation_message{items_oid,
                          "public",
                          "items",
                          identity,
                          {column("id", oids::int4, true), column("name", oids::text),
                           column("secret", oids::text), column("territory", oids::int4),
                           column("note", oids::text)}};
}

relation_message notes_relation() {
  // Its key is text in the message and int8 in the collection (a domain, say).
  return relation_message{notes_oid, "sales", "notes", 'f',
                          {column("id", oids::text, true), column("body", oids::text)}};
}

relation_message audit_relation() {
  return relation_message{audit_oid, "public", "audit", 'f', {column("id", oids::int4, true)}};
}

// Text values; nullopt is NULL.
tuple_data values(std::initializer_list<std::optional<std::string>> values) {
  tuple_data t;
  for (const auto& v : values) {
    t.push_back(v ? tuple_value{tuple_value::kind::text, *v} : tuple_value{});
  }
  return t;
}

// An items row: id, name, secret, territory, note.
tuple_data item(const std::string& id, const std::string& name, const std::string& territory,
                std::optional<std::string> note = "n") {
  return values({id, name, "s3cret", territory, std::move(note)});
}

// The old row of a REPLICA IDENTITY DEFAULT update or delete: the key, the rest NULL.
tuple_data item_key(const std::string& id) {
  return values({id, std::nullopt, std::nullopt, std::nullopt, std::nullopt});
}

begin_message begin(std::uint64_t final_lsn = 0x1000, std::uint32_t xid = 700) {
  return begin_message{lsn(final_lsn), 111, xid};
}

commit_message commit(std::uint64_t commit_lsn = 0x1000, std::uint64_t end_lsn = 0x1010) {
  return commit_message{0, lsn(commit_lsn), lsn(end_lsn), 222};
}

insert_message insert(tuple_data row, std::uint32_t oid = items_oid) {
  return insert_message{oid, std::move(row)};
}

update_message update(std::optional<tuple_data> old_row, bool key_only, tuple_data row) {
  return update_message{items_oid, std::move(old_row), key_only, std::move(row)};
}

delete_message delete_of(tuple_data old_row, bool key_only) {
  return delete_message{items_oid, std::move(old_row), key_only};
}

logical_message message(bool transactional, std::string prefix, std::string content,
                        std::uint64_t at = 0x2000) {
  return logical_message{transactional, lsn(at), std::move(prefix), std::move(content)};
}

struct fixture {
  transaction_assembler a{{items(), notes()}, 1 << 20};

  event feed(const pgoutput_message& m) {
    auto r = a.feed(m);
    REQUIRE(r.has_value());
    return *r;
  }
  boost::system::error_code fail(const pgoutput_message& m) {
    auto r = a.feed(m);
    REQUIRE_FALSE(r.has_value());
    return r.error();
  }
  void feed_change(const pgoutput_message& m) { CHECK(feed(m) == event::none); }
  // Feeds the relations, then `body` inside one transaction; the committed transaction.
  template <class... M>
  transaction run(const M&... body) {
    feed(items_relation());
    feed(notes_relation());
    feed(audit_relation());
    feed(begin());
    (feed_change(body), ...);
    REQUIRE(feed(commit()) == event::committed);
    return a.take_transaction();
  }
};

json::value parse(std::string_view text) { return json::parse(text); }

}  // namespace

TEST_CASE("an insert, an update and a delete commit as one transaction") {
  fixture f;
  auto t = f.run(insert(item("1", "a", "3")), update(item("1", "a", "3"), false, item("1", "b", "3")),
                 delete_of(item("1", "b", "3"), false));
  CHECK(t.commit_lsn == lsn(0x1000));
  CHECK(t.end_lsn == lsn(0x1010));
  CHECK(t.xid == 700);
  CHECK(t.commit_time == 222);  // the Commit's, not the Begin's
  REQUIRE(t.changes.size() == 3);

  const auto& ins = t.changes[0];
  CHECK(ins.collection == "items");
  CHECK(ins.op == change_op::insert);
  CHECK(ins.key == "1");
  CHECK(json::value(ins.row) == parse(R"({"id":1,"name":"a","territory":3,"note":"n"})"));
  CHECK(ins.changed == std::vector<std::string>{"id", "name", "territory", "note"});
  CHECK_FALSE(ins.old_row);
  CHECK_FALSE(ins.origin);
  CHECK(ins.missing.empty());

  const auto& upd = t.changes[1];
  CHECK(upd.op == change_op::update);
  CHECK(upd.key == "1");
  CHECK(json::value(upd.row) == parse(R"({"id":1,"name":"b","territory":3,"note":"n"})"));
  REQUIRE(upd.old_row);
  CHECK(json::value(*upd.old_row) == parse(R"({"id":1,"name":"a","territory":3,"note":"n"})"));
  CHECK(upd.changed == std::vector<std::string>{"name"});

  const auto& del = t.changes[2];
  CHECK(del.op == change_op::remove);
  CHECK(del.key == "1");
  CHECK(json::value(del.row) == parse(R"({"id":1,"name":"b","territory":3,"note":"n"})"));
  CHECK(del.changed.empty());
}

TEST_CASE("an update without the old row, or with its key only, changed every column") {
  fixture f;
  auto t = f.run(update(std::nullopt, false, item("1", "a", "3")),
                 update(item_key("1"), true, item("1", "b", "3")));
  REQUIRE(t.changes.size() == 2);
  for (const auto& c : t.changes) {
    CHECK(c.op == change_op::update);
    CHECK_FALSE(c.old_row);
    CHECK(c.changed == std::vector<std::string>{"id", "name", "territory", "note"});
  }
}

TEST_CASE("a delete that logged only the key leaves the other columns missing, not NULL") {
  fixture f;
  auto t = f.run(delete_of(item_key("4"), true));
  REQUIRE(t.changes.size() == 1);
  const auto& del = t.changes[0];
  CHECK(del.key == "4");
  CHECK(json::value(del.row) == parse(R"({"id":4})"));
  CHECK(del.missing == std::vector<std::string>{"name", "territory", "note"});
}

TEST_CASE("a NULL in a full old row or a new row is a null value") {
  fixture f;
  auto t = f.run(insert(item("1", "a", "3", std::nullopt)),
                 delete_of(item("1", "a", "3", std::nullopt), false));
  REQUIRE(t.changes.size() == 2);
  CHECK(json::value(t.changes[0].row) == parse(R"({"id":1,"name":"a","territory":3,"note":null})"));
  CHECK(json::value(t.changes[1].row) == parse(R"({"id":1,"name":"a","territory":3,"note":null})"));
  CHECK(t.changes[1].missing.empty());
}

TEST_CASE("a changed key is a delete of the old key, then an insert of the new one") {
  fixture f;
  SECTION("with the full old row") {
    auto t = f.run(update(item("1", "a", "3"), false, item("2", "a", "3")));
    REQUIRE(t.changes.size() == 2);
    const auto& gone = t.changes[0];
    CHECK(gone.op == change_op::remove);
    CHECK(gone.key == "1");
    CHECK(json::value(gone.row) == parse(R"({"id":1,"name":"a","territory":3,"note":"n"})"));
    CHECK(gone.missing.empty());
    const auto& added = t.changes[1];
    CHECK(added.op == change_op::insert);
    CHECK(added.key == "2");
    CHECK(json::value(added.row) == parse(R"({"id":2,"name":"a","territory":3,"note":"n"})"));
    CHECK_FALSE(added.old_row);
    CHECK(added.changed == std::vector<std::string>{"id", "name", "territory", "note"});
  }
  SECTION("with the old key only") {
    auto t = f.run(update(item_key("1"), true, item("2", "a", "3")));
    REQUIRE(t.changes.size() == 2);
    CHECK(t.changes[0].op == change_op::remove);
    CHECK(t.changes[0].key == "1");
    CHECK(json::value(t.changes[0].row) == parse(R"({"id":1})"));
    CHECK(t.changes[0].missing == std::vector<std::string>{"name", "territory", "note"});
    CHECK(t.changes[1].op == change_op::insert);
    CHECK(t.changes[1].key == "2");
    CHECK(t.changes[1].missing.empty());
  }
}

TEST_CASE("an unchanged TOAST value comes from the full old row, else it is missing") {
  fixture f;
  auto toasted = item("1", "b", "3");
  toasted[4] = tuple_value{tuple_value::kind::unchanged_toast, ""};
  SECTION("the old row has it") {
    auto t = f.run(update(item("1", "a", "3", "long"), false, toasted));
    REQUIRE(t.changes.size() == 1);
    CHECK(json::value(t.changes[0].row) ==
          parse(R"({"id":1,"name":"b","territory":3,"note":"long"})"));
    CHECK(t.changes[0].missing.empty());
    CHECK(t.changes[0].changed == std::vector<std::string>{"name"});
  }
  SECTION("no old row") {
    auto t = f.run(update(std::nullopt, false, toasted));
    REQUIRE(t.changes.size() == 1);
    CHECK(json::value(t.changes[0].row) == parse(R"({"id":1,"name":"b","territory":3})"));
    CHECK(t.changes[0].missing == std::vector<std::string>{"note"});
    CHECK(t.changes[0].changed == std::vector<std::string>{"id", "name", "territory"});
  }
}

TEST_CASE("a truncate truncates the collections among its relations") {
  fixture f;
  auto t = f.run(truncate_message{0, {audit_oid, items_oid, notes_oid}});
  REQUIRE(t.changes.size() == 2);
  CHECK(t.changes[0].collection == "items");
  CHECK(t.changes[0].op == change_op::truncate);
  CHECK(t.changes[1].collection == "notes");
  CHECK(t.changes[1].op == change_op::truncate);
}

TEST_CASE("relations that are not collections are passed over, and the collection's types count") {
  fixture f;
  // The collection's type (read from the catalog) counts, not the message's.
  auto t = f.run(insert(values({"9"}), audit_oid), insert(values({"12", "hello"}), notes_oid));
  REQUIRE(t.changes.size() == 1);
  CHECK(t.changes[0].collection == "notes");
  CHECK(json::value(t.changes[0].row) == parse(R"({"id":12,"body":"hello"})"));
}

TEST_CASE("a Relation message replaces the relation's definition") {
  fixture f;
  f.feed(items_relation());
  auto reordered = items_relation();
  std::swap(reordered.columns[1], reordered.columns[4]);  // note before name
  f.feed(reordered);
  f.feed(begin());
  f.feed(insert(values({"1", "the note", "s", "3", "the name"})));
  f.feed(commit());
  auto t = f.a.take_transaction();
  REQUIRE(t.changes.size() == 1);
  CHECK(json::value(t.changes[0].row) ==
        parse(R"({"id":1,"note":"the note","territory":3,"name":"the name"})"));
}

TEST_CASE("relations without REPLICA IDENTITY FULL are named once for a warning") {
  fixture f;
  f.feed(items_relation('d'));
  f.feed(items_relation('d'));
  f.feed(notes_relation());
  CHECK(f.a.take_identity_warnings() == std::vector<std::string>{"public.items"});
  f.feed(items_relation('i'));
  CHECK(f.a.take_identity_warnings().empty());
}

TEST_CASE("a batch's origin message names each write's change by collection and key") {
  fixture f;
  const auto content = batch_origin_content("c1", {{7, "items", "2", "h7"},
                                                   {8, "items", "3", ""},
                                                   {9, "items", "2", "h9"},
                                                   {10, "notes", "3", ""},
                                                   {11, "items", "9", ""}});  // wrote nothing
  auto t =
      f.run(insert(item("1", "a", "3")),  // before the message: an integration's
            message(true, "fieldsync", content),
            insert(item("4", "trigger", "3")),  // a row no write names (a trigger's)
            update(item("2", "a", "3"), false, item("2", "b", "3")), insert(item("3", "a", "3")),
            update(item("2", "b", "3"), false, item("2", "c", "3")),  // the same row again
            update(item("2", "c", "3"), false, item("2", "d", "3")),  // no write left for it
            insert(values({"3", "note"}), notes_oid), truncate_message{0, {items_oid}});
  REQUIRE(t.changes.size() == 8);
  CHECK_FALSE(t.changes[0].origin);
  CHECK_FALSE(t.changes[1].origin);
  auto origin = [&](std::size_t i) {
    REQUIRE(t.changes[i].origin);
    CHECK(t.changes[i].origin->client_id == "c1");
    return *t.changes[i].origin;
  };
  CHECK(origin(2).mutation_id == 7);
  CHECK(origin(2).client_ts == "h7");
  CHECK(origin(3).mutation_id == 8);
  CHECK(origin(3).client_ts.empty());
  CHECK(origin(4).mutation_id == 9);
  CHECK(origin(4).client_ts == "h9");
  CHECK_FALSE(t.changes[5].origin);
  CHECK(t.changes[6].collection == "notes");
  CHECK(origin(6).mutation_id == 10);
  CHECK_FALSE(t.changes[7].origin);  // a truncate is no client's write

  // Content that is not a batch's (a write without its key) names nothing, and is no error.
  auto bad =
      f.run(message(true, "fieldsync",
                    R"({"client_id":"c1","writes":[{"mutation_id":1,"collection":"items"}]})"),
            insert(item("5", "a", "3")));
  REQUIRE(bad.changes.size() == 1);
  CHECK_FALSE(bad.changes[0].origin);

  // Content larger than a transaction may hold is not parsed, and spills like changes do.
  transaction_assembler small{{items(), notes()}, 64};
  REQUIRE(small.feed(items_relation()).has_value());
  REQUIRE(small.feed(begin()).has_value());
  const auto big = batch_origin_content("c1", {{7, "items", "2", std::string(100, 'h')}});
  auto ev = small.feed(message(true, "fieldsync", big));
  REQUIRE(ev.has_value());
  CHECK(*ev == event::over_limit);
  CHECK(small.take_changes().empty());
  REQUIRE(small.feed(insert(item("2", "a", "3"))).has_value());
  REQUIRE(small.feed(commit()).has_value());
  auto t2 = small.take_transaction();
  REQUIRE(t2.changes.size() == 1);
  CHECK_FALSE(t2.changes[0].origin);
}

TEST_CASE("the per-mutation origin message of earlier versions names the changes after it") {
  fixture f;
  auto t = f.run(
      insert(item("1", "a", "3")),
      message(true, "fieldsync", R"({"client_id":"c1","mutation_id":7,"client_ts":"h1"})"),
      insert(item("2", "a", "3")), truncate_message{0, {items_oid}},
      message(true, "fieldsync", R"({"client_id":"c1","mutation_id":8})"),
      message(true, "other", R"({"client_id":"x","mutation_id":1})"),
      insert(item("3", "a", "3")), message(true, "fieldsync", "not json"),
      insert(item("4", "a", "3")));
  REQUIRE(t.changes.size() == 5);
  CHECK_FALSE(t.changes[0].origin);
  REQUIRE(t.changes[1].origin);
  CHECK(t.changes[1].origin->client_id == "c1");
  CHECK(t.changes[1].origin->mutation_id == 7);
  CHECK(t.changes[1].origin->client_ts == "h1");
  REQUIRE(t.changes[2].origin);  // the truncate
  CHECK(t.changes[2].origin->mutation_id == 7);
  REQUIRE(t.changes[3].origin);  // another prefix changed nothing
  CHECK(t.changes[3].origin->mutation_id == 8);
  CHECK(t.changes[3].origin->client_ts.empty());
  CHECK_FALSE(t.changes[4].origin);  // malformed content: no origin, and no error

  // A new transaction starts without one.
  f.feed(begin(0x3000, 701));
  f.feed(insert(item("6", "a", "3")));
  f.feed(commit(0x3000, 0x3010));
  auto next = f.a.take_transaction();
  REQUIRE(next.changes.size() == 1);
  CHECK_FALSE(next.changes[0].origin);
}

TEST_CASE("heartbeats are reported outside transactions only") {
  fixture f;
  CHECK(f.feed(message(false, "fieldsync.heartbeat", "", 0x5000)) == event::heartbeat);
  CHECK(f.a.heartbeat_lsn() == lsn(0x5000));
  CHECK(f.feed(message(false, "other", "", 0x6000)) == event::none);
  f.feed(begin());
  CHECK(f.feed(message(false, "fieldsync.heartbeat", "", 0x7000)) == event::none);
  CHECK(f.a.heartbeat_lsn() == lsn(0x5000));
  // A non-transactional "fieldsync" message is no origin.
  CHECK(f.feed(message(false, "fieldsync", R"({"client_id":"c","mutation_id":1})")) == event::none);
  f.feed(items_relation());
  f.feed(insert(item("1", "a", "3")));
  f.feed(commit());
  auto t = f.a.take_transaction();
  REQUIRE(t.changes.size() == 1);
  CHECK_FALSE(t.changes[0].origin);
}

TEST_CASE("Origin and Type messages need nothing") {
  fixture f;
  CHECK(f.feed(origin_message{lsn(1), "elsewhere"}) == event::none);
  CHECK(f.feed(type_message{16500, "public", "mood"}) == event::none);
  f.feed(begin());
  CHECK(f.feed(origin_message{lsn(1), "elsewhere"}) == event::none);
  CHECK(f.feed(commit()) == event::committed);
}

TEST_CASE("excluded collections lose their changes until the next Begin") {
  fixture f;
  f.feed(items_relation());
  f.feed(notes_relation());
  f.feed(begin());
  f.a.exclude_collections({"items"});
  f.feed(insert(item("1", "a", "3")));
  f.feed(update(item("1", "a", "3"), false, item("1", "b", "3")));
  f.feed(delete_of(item("1", "b", "3"), false));
  f.feed(truncate_message{0, {items_oid, notes_oid}});
  f.feed(insert(values({"5", "kept"}), notes_oid));
  f.feed(commit());
  auto t = f.a.take_transaction();
  REQUIRE(t.changes.size() == 2);
  CHECK(t.changes[0].collection == "notes");
  CHECK(t.changes[0].op == change_op::truncate);
  CHECK(t.changes[1].collection == "notes");
  CHECK(t.changes[1].key == "5");

  f.feed(begin(0x3000, 701));
  f.feed(insert(item("2", "a", "3")));
  f.feed(commit(0x3000, 0x3010));
  auto next = f.a.take_transaction();
  REQUIRE(next.changes.size() == 1);
  CHECK(next.changes[0].collection == "items");
}

TEST_CASE("a transaction over the limit is handed out in pieces") {
  transaction_assembler a({items()}, 1000);
  REQUIRE(a.feed(items_relation()).value() == event::none);
  REQUIRE(a.feed(begin()).value() == event::none);
  CHECK_FALSE(a.spilled());
  int fed = 0;
  event e = event::none;
  while (e == event::none && fed < 100) {
    e = a.feed(insert(item(std::to_string(++fed), "a", "3"))).value();
  }
  REQUIRE(e == event::over_limit);
  CHECK(fed > 1);  // one change is far below the limit
  CHECK(a.in_transaction());
  CHECK(a.open_transaction().xid == 700);
  auto early = a.take_changes();
  CHECK(early.size() == static_cast<std::size_t>(fed));
  CHECK(a.spilled());
  // The count starts again after the take.
  CHECK(a.feed(insert(item("1000", "a", "3"))).value() == event::none);
  REQUIRE(a.feed(commit()).value() == event::committed);
  CHECK_FALSE(a.in_transaction());
  auto t = a.take_transaction();
  REQUIRE(t.changes.size() == 1);
  CHECK(t.changes[0].key == "1000");
  CHECK(t.commit_lsn == lsn(0x1000));
  CHECK(a.last_transaction_bytes() > 0);
  CHECK(a.last_transaction_bytes() < 1000);
  REQUIRE(a.feed(begin(0x3000, 701)).value() == event::none);
  CHECK_FALSE(a.spilled());
}

TEST_CASE("a value that does not parse as its type is a bad_value naming table and column") {
  fixture f;
  f.feed(items_relation());
  f.feed(begin());
  CHECK_FALSE(f.a.last_failure());
  CHECK(f.fail(insert(item("1", "a", "three"))) == assembler_errc::bad_value);
  const auto& why = f.a.last_failure();
  REQUIRE(why);
  CHECK(why->collection == "items");
  CHECK_THAT(why->message, Catch::Contains("public.items") && Catch::Contains("territory") &&
                               Catch::Contains("int4"));
  // In an old row too.
  CHECK(f.fail(update(item("1", "a", "x"), false, item("1", "a", "3"))) == assembler_errc::bad_value);
  CHECK(f.fail(delete_of(item("x", "a", "3"), false)) == assembler_errc::bad_value);
  CHECK(f.a.last_failure()->message.find("column id") != std::string::npos);
}

TEST_CASE("malformed changes are refused with their error") {
  fixture f;
  f.feed(items_relation());
  f.feed(begin());
  auto binary = item("1", "a", "3");
  binary[1].k = tuple_value::kind::binary;
  CHECK(f.fail(insert(binary)) == assembler_errc::binary_value);
  CHECK(f.fail(insert(values({"1", "a"}))) == assembler_errc::bad_tuple);
  CHECK(f.fail(update(values({"1"}), true, item("1", "a", "3"))) == assembler_errc::bad_tuple);
  CHECK(f.fail(insert(values({std::nullopt, "a", "s", "3", "n"}))) == assembler_errc::missing_key);
  // A column that is not synced may hold anything, binary included.
  auto secret = item("1", "a", "3");
  secret[2].k = tuple_value::kind::binary;
  CHECK(f.feed(insert(secret)) == event::none);
}

TEST_CASE("messages out of order are refused") {
  fixture f;
  SECTION("changes, truncates, origins and commits outside a transaction") {
    f.feed(items_relation());
    CHECK(f.fail(insert(item("1", "a", "3"))) == assembler_errc::change_outside_transaction);
    CHECK(f.fail(update(std::nullopt, false, item("1", "a", "3"))) ==
          assembler_errc::change_outside_transaction);
    CHECK(f.fail(delete_of(item_key("1"), true)) == assembler_errc::change_outside_transaction);
    CHECK(f.fail(truncate_message{0, {items_oid}}) == assembler_errc::change_outside_transaction);
    CHECK(f.fail(message(true, "fieldsync", "{}")) == assembler_errc::change_outside_transaction);
    CHECK(f.fail(commit()) == assembler_errc::change_outside_transaction);
    CHECK_FALSE(f.a.in_transaction());
  }
  SECTION("a Begin inside a transaction") {
    f.feed(begin());
    CHECK(f.fail(begin(0x2000, 701)) == assembler_errc::nested_begin);
    CHECK(f.a.in_transaction());
  }
  SECTION("a Commit that is not its Begin's") {
    f.feed(begin());
    CHECK(f.fail(commit(0x2000, 0x2010)) == assembler_errc::commit_mismatch);
    CHECK(f.feed(commit()) == event::committed);
  }
  SECTION("a change or a truncate before its Relation") {
    f.feed(begin());
    CHECK(f.fail(insert(item("1", "a", "3"))) == assembler_errc::unknown_relation);
    CHECK(f.fail(truncate_message{0, {items_oid}}) == assembler_errc::unknown_relation);
  }
  SECTION("a second Commit") {
    f.feed(begin());
    f.feed(commit());
    CHECK(f.fail(commit()) == assembler_errc::change_outside_transaction);
  }
}

TEST_CASE("assembler errors have messages") {
  for (int e = 1; e <= static_cast<int>(assembler_errc::missing_key); ++e) {
    auto ec = make_error_code(static_cast<assembler_errc>(e));
    CHECK(ec.category() == assembler_category());
    CHECK_FALSE(ec.message().empty());
    CHECK(ec.message() != "unknown assembler error");
  }
}
