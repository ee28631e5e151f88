#include "server/pull/delta_builder.hpp"

#include "tests/unit/protocol/filter_test_schema.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <random>

using namespace fieldsync;
using namespace fieldsync::server;
using protocol::change_op;
using protocol::cursor;
using protocol::lsn;

namespace {

protocol::bound_filter bind(std::string_view text, boost::json::array params = {}) {
  auto schema = protocol::test::opportunities();
  auto checked = protocol::prepare_filter(text, schema);
  REQUIRE(checked.has_value());
  auto bound = protocol::bind_filter(*checked, params, {});
  if (!bound) FAIL(bound.error().to_string());
  return std::move(*bound);
}

storage::log_change change(std::uint64_t at, std::uint32_t idx, change_op op, std::int64_t id,
                           boost::json::object row,
                           std::optional<boost::json::object> old_row = std::nullopt) {
  storage::log_change c;
  c.position = lsn(at);
  c.idx = idx;
  c.change.op = op;
  c.change.key = std::to_string(id);
  c.change.row = std::move(row);
  c.change.old_row = std::move(old_row);
  return c;
}

boost::json::object row(std::int64_t id, std::int64_t territory, std::string stage = "new") {
  return {{"id", id}, {"territory_id", territory}, {"stage", stage}};
}

}  // namespace

TEST_CASE("delta: latest version decides, tombstones only for rows the client had", "[pulls]") {
  auto scope = bind("territory_id = 1");
  delta_builder b(scope, nullptr, 100, 1 << 20);
  // 1: inserted in scope, updated twice: one upsert of the last version.
  CHECK(b.add(change(10, 0, change_op::insert, 1, row(1, 1))));
  CHECK(b.add(change(11, 0, change_op::update, 1, row(1, 1, "a"), row(1, 1))));
  // 2: in scope at the cursor, moved out: a delete.
  CHECK(b.add(change(11, 1, change_op::update, 2, row(2, 2), row(2, 1))));
  // 3: outside at the cursor, moved in: an upsert (an insert for the client).
  CHECK(b.add(change(12, 0, change_op::update, 3, row(3, 1), row(3, 2))));
  // 4: inserted and deleted within the window: nothing.
  CHECK(b.add(change(12, 1, change_op::insert, 4, row(4, 1))));
  CHECK(b.add(change(13, 0, change_op::remove, 4, row(4, 1))));
  // 5: outside, moved around outside: nothing.
  CHECK(b.add(change(13, 1, change_op::update, 5, row(5, 3), row(5, 2))));
  // 6: in scope at the cursor, deleted: a delete.
  CHECK(b.add(change(14, 0, change_op::remove, 6, row(6, 1))));
  auto out = b.finish();
  REQUIRE(out.size() == 4);
  CHECK(out[0].latest.change.key == "1");  // commit order of the latest versions: 11/0
  CHECK(out[0].upsert);
  CHECK_FALSE(out[0].inside_at_cursor);
  CHECK(out[0].row_json.find("\"a\"") != std::string::npos);
  CHECK(out[1].latest.change.key == "2");
  CHECK_FALSE(out[1].upsert);
  CHECK(out[2].latest.change.key == "3");
  CHECK(out[2].upsert);
  CHECK(out[3].latest.change.key == "6");
  CHECK_FALSE(out[3].upsert);
}

TEST_CASE("delta: a page ends at the limit of keys, before the next new key", "[pulls]") {
  auto scope = bind("TRUE");
  delta_builder b(scope, nullptr, 2, 1 << 20);
  CHECK(b.add(change(10, 0, change_op::insert, 1, row(1, 1))));
  CHECK(b.add(change(10, 1, change_op::insert, 2, row(2, 1))));
  CHECK(b.add(change(10, 2, change_op::update, 1, row(1, 1, "x"), row(1, 1))));  // same key
  auto third = change(10, 3, change_op::insert, 3, row(3, 1));
  CHECK_FALSE(b.add(third));
  REQUIRE(b.last_taken());
  auto c = cursor_after(7, *b.last_taken(), &third);
  CHECK(c.position == lsn(10));
  CHECK(c.index == 2);  // inside the transaction
  auto next_tx = change(11, 0, change_op::insert, 3, row(3, 1));
  CHECK(cursor_after(7, *b.last_taken(), &next_tx).index == cursor::whole_transaction);
  CHECK(b.finish().size() == 2);
}

TEST_CASE("delta: the byte cap ends a page but always takes one key", "[pulls]") {
  auto scope = bind("TRUE");
  delta_builder b(scope, nullptr, 100, 10);
  CHECK(b.add(change(10, 0, change_op::insert, 1, row(1, 1))));
  CHECK_FALSE(b.add(change(10, 1, change_op::insert, 2, row(2, 1))));
  CHECK(b.finish().size() == 1);
}

// A random history; a client that starts from the scoped rows at some point and pulls in
// pages of random sizes while the history grows ends up holding exactly the scoped rows.
TEST_CASE("delta: pages of random sizes converge to the scoped state", "[pulls]") {
  auto scope = bind("territory_id IN (1, 2)");
  auto where = bind("stage <> 'lost'");
  for (int seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    std::vector<storage::log_change> log;
    std::map<std::int64_t, boost::json::object> table;
    std::uint64_t at = 100;
    auto write = [&](int transactions) {
      for (int t = 0; t < transactions; ++t) {
        ++at;
        int n = 1 + pick(4);
        for (int i = 0; i < n; ++i) {
          std::int64_t id = 1 + pick(8);
          auto fresh =
              row(id, 1 + pick(3), pick(4) == 0 ? "lost" : "open" + std::to_string(pick(3)));
          auto it = table.find(id);
          auto idx = static_cast<std::uint32_t>(i);
          if (it == table.end()) {
            log.push_back(change(at, idx, change_op::insert, id, fresh));
            table[id] = fresh;
          } else if (pick(4) == 0) {
            log.push_back(change(at, idx, change_op::remove, id, it->second));
            table.erase(it);
          } else {
            log.push_back(change(at, idx, change_op::update, id, fresh, it->second));
            it->second = fresh;
          }
        }
      }
    };
    auto visible = [&](const boost::json::object& r) {
      return protocol::matches(scope, r) && protocol::matches(where, r);
    };
    write(5 + pick(10));
    // The snapshot: the scoped rows at `at`.
    std::map<std::string, boost::json::object> client;
    for (const auto& [id, r] : table) {
      if (visible(r)) client[std::to_string(id)] = r;
    }
    cursor pos{1, lsn(at)};
    for (int round = 0; round < 6; ++round) {
      write(pick(12));
      const lsn high(at);
      bool more = true;
      while (more) {
        delta_builder b(scope, &where, 1 + pick(5), pick(2) ? 1 << 20 : 200);
        const storage::log_change* refused = nullptr;
        bool full = false;
        for (const auto& c : log) {
          if (c.position < pos.position ||
              (c.position == pos.position &&
               (pos.index == cursor::whole_transaction || c.idx <= pos.index))) {
            continue;
          }
          if (c.position > high) break;
          if (!b.add(c)) {
            refused = &c;
            full = true;
            break;
          }
        }
        cursor next = full ? cursor_after(1, *b.last_taken(), refused) : cursor{1, high};
        for (auto& e : b.finish()) {
          if (e.upsert)
            client[e.latest.change.key] = e.latest.change.row;
          else
            client.erase(e.latest.change.key);
        }
        REQUIRE(next >= pos);
        pos = next;
        more = full;
      }
    }
    std::map<std::string, boost::json::object> expected;
    for (const auto& [id, r] : table) {
      if (visible(r)) expected[std::to_string(id)] = r;
    }
    CHECK(client == expected);
  }
}
