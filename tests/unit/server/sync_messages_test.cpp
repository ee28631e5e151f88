// The texts of change and snapshot messages: valid JSON, the shared body after the
// subscription's head, deletes that carry only the key and the scope's columns.

#include "server/live/sync_messages.hpp"
#include "tests/unit/server/sync_test_schema.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace fieldsync;
using namespace fieldsync::server;
namespace json = boost::json;

TEST_CASE("a change message is the subscription's head and the shared body", "[sync][messages]") {
  protocol::row_change c;
  c.collection = "accounts";
  c.op = protocol::change_op::update;
  c.key = "42";
  c.row = test::row(R"({"id":42,"territory_id":7,"segment":"A","name":"Apotheke \"Nord\""})");
  c.old_row = test::row(R"({"id":42,"territory_id":3,"segment":"A","name":"Apotheke"})");
  c.origin = protocol::change_origin{"device-1", 17, "1732000000000-0001-device-1"};
  const protocol::cursor after{5, protocol::lsn(0x16B3F28), protocol::cursor::whole_transaction};

  auto head = sync_messages::change_head(json::value("sub-1"));
  auto body = sync_messages::change_body(c, delivery::update, protocol::lsn(0x16B3F28), after,
                                         {"id", "territory_id"});
  auto m = json::parse(head + body).as_object();
  CHECK(m.at("type") == "change");
  CHECK(m.at("id") == "sub-1");
  CHECK(m.at("op") == "update");
  CHECK(m.at("collection") == "accounts");
  CHECK(m.at("key") == "42");
  CHECK(m.at("row").at("name") == "Apotheke \"Nord\"");
  CHECK(m.at("version") == "0/16B3F28");
  CHECK(m.at("cursor") == json::value(after.to_string()));
  CHECK(m.at("origin").at("client_id") == "device-1");
  CHECK(m.at("origin").at("mutation_id") == 17);

  // Integer ids work as well; the body is the same text for every recipient.
  auto other = json::parse(sync_messages::change_head(json::value(7)) + body).as_object();
  CHECK(other.at("id") == 7);

  // Leaving the view: the row before the change, cut to the key and the scope's columns.
  auto gone =
      json::parse(head + sync_messages::change_body(c, delivery::remove, protocol::lsn(0x16B3F28),
                                                    after, {"id", "territory_id"}))
          .as_object();
  CHECK(gone.at("op") == "delete");
  CHECK(gone.at("row") == json::parse(R"({"id":42,"territory_id":3})"));
  CHECK(gone.contains("origin"));
}

TEST_CASE("snapshot batches embed the stored rows and end with the cursor", "[sync][messages]") {
  const protocol::cursor w{5, protocol::lsn(0x100), protocol::cursor::whole_transaction};
  sync_messages::snapshot_batch b(json::value("s"));
  b.add_row("1", protocol::lsn(0x10), R"({"id":1})");
  b.add_row("a\"b", protocol::lsn(0x20), R"({"id":2})");
  CHECK(b.rows() == 2);
  auto last = json::parse(b.finish(true, w)).as_object();
  CHECK(last.at("type") == "snapshot");
  CHECK(last.at("rows").as_array().size() == 2);
  CHECK(last.at("rows").at(1).at("key") == "a\"b");
  CHECK(last.at("rows").at(1).at("version") == "0/20");
  CHECK(last.at("last") == true);
  CHECK(last.at("cursor") == json::value(w.to_string()));

  sync_messages::snapshot_batch empty(json::value("s"));
  auto e = json::parse(empty.finish(false, w)).as_object();
  CHECK(e.at("rows").as_array().empty());
  CHECK(e.at("last") == false);
  CHECK_FALSE(e.contains("cursor"));
}
