#pragma once
// A demo-like collection for the live-sync unit tests: accounts with a territory, a segment
// and a numeric, typed through protocol::describe_type.

#include "protocol/collection_schema.hpp"
#include "protocol/filter/filter.hpp"
#include "server/live/subscription_filter.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace fieldsync::server::test {

inline protocol::collection_schema accounts_schema() {
  protocol::collection_schema s;
  s.name = "accounts";
  s.schema_name = "public";
  s.table_name = "accounts";
  s.primary_key = {"id"};
  auto add = [&](std::string name, protocol::type_oid oid) {
    protocol::column_schema c;
    c.name = std::move(name);
    c.type = protocol::describe_type(oid);
    s.columns.push_back(std::move(c));
  };
  add("id", protocol::oids::int8);
  add("territory_id", protocol::oids::int8);
  add("rep_id", protocol::oids::int8);
  add("segment", protocol::oids::text);
  add("amount", protocol::oids::numeric);
  add("active", protocol::oids::bool_);
  return s;
}

inline protocol::bound_filter bind_text(const protocol::collection_schema& schema,
                                        std::string_view text,
                                        const std::string& claims_json = "{}",
                                        const std::string& params_json = "[]") {
  auto checked = protocol::prepare_filter(text, schema);
  INFO(std::string(text) << ": " << (checked ? std::string() : checked.error().to_string()));
  REQUIRE(checked.has_value());
  auto claims = boost::json::parse(claims_json).as_object();
  auto params = boost::json::parse(params_json).as_array();
  auto bound = protocol::bind_filter(*checked, params, claims);
  INFO(std::string(text) << ": " << (bound ? std::string() : bound.error().to_string()));
  REQUIRE(bound.has_value());
  return std::move(*bound);
}

inline boost::json::object row(const std::string& json) {
  return boost::json::parse(json).as_object();
}

}  // namespace fieldsync::server::test
