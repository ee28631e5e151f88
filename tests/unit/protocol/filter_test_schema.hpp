#pragma once
// A collection for the filter tests, with column types built by hand (the tests do not
// depend on describe_type), covering every filter domain and some non-comparable types.

#include "protocol/collection_schema.hpp"
#include "protocol/filter/filter.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace fieldsync::protocol::test {

inline column_type make_type(type_oid oid, type_class cls, std::string_view name,
                             type_class element = type_class::other) {
  column_type t;
  t.oid = oid;
  t.cls = cls;
  t.name = name;
  t.element = element;
  return t;
}

inline collection_schema opportunities() {
  collection_schema s;
  s.name = "opportunities";
  s.schema_name = "public";
  s.table_name = "opportunities";
  s.primary_key = {"id"};
  auto add = [&](std::string name, column_type t) {
    column_schema c;
    c.name = std::move(name);
    c.type = t;
    s.columns.push_back(std::move(c));
  };
  add("id", make_type(oids::int8, type_class::integer, "int8"));
  add("rep_id", make_type(oids::int8, type_class::integer, "int8"));
  add("territory_id", make_type(oids::int4, type_class::integer, "int4"));
  add("small", make_type(oids::int2, type_class::integer, "int2"));
  add("stage", make_type(oids::text, type_class::text, "text"));
  add("name", make_type(oids::varchar, type_class::text, "varchar"));
  add("code", make_type(oids::bpchar, type_class::text, "bpchar"));
  add("amount", make_type(oids::numeric, type_class::numeric, "numeric"));
  add("probability", make_type(oids::float8, type_class::floating, "float8"));
  add("score", make_type(oids::float4, type_class::floating, "float4"));
  add("won", make_type(oids::bool_, type_class::boolean, "bool"));
  add("lost", make_type(oids::bool_, type_class::boolean, "bool"));
  add("visited_at", make_type(oids::timestamptz, type_class::timestamptz, "timestamptz"));
  add("local_at", make_type(oids::timestamp, type_class::timestamp, "timestamp"));
  add("due", make_type(oids::date, type_class::date, "date"));
  add("starts", make_type(oids::time, type_class::time, "time"));
  add("account_id", make_type(oids::uuid, type_class::uuid, "uuid"));
  add("tags", make_type(1009, type_class::array, "text[]", type_class::text));
  add("payload", make_type(oids::jsonb, type_class::json, "jsonb"));
  add("span", make_type(oids::interval, type_class::interval, "interval"));
  add("Mixed Case", make_type(oids::text, type_class::text, "text"));
  return s;
}

inline boost::json::object obj(std::string_view json) {
  return boost::json::parse(json).as_object();
}
inline boost::json::array arr(std::string_view json) {
  return boost::json::parse(json).as_array();
}

// Parses, checks and binds; fails the test on any error.
inline bound_filter bind_ok(std::string_view text, std::string_view params = "[]",
                            std::string_view claims = "{}") {
  auto checked = prepare_filter(text, opportunities());
  INFO(text);
  if (!checked) FAIL(checked.error().to_string());
  auto bound = bind_filter(*checked, arr(params), obj(claims));
  if (!bound) FAIL(bound.error().to_string());
  return std::move(*bound);
}

// The error of the first failing stage (parse, check, bind); fails the test if none fails.
inline filter_error error_of(std::string_view text, std::string_view params = "[]",
                             std::string_view claims = "{}", const filter_limits& limits = {}) {
  INFO(text);
  auto checked = prepare_filter(text, opportunities(), limits);
  if (!checked) return checked.error();
  auto bound = bind_filter(*checked, arr(params), obj(claims));
  if (!bound) return bound.error();
  FAIL("no error");
  return {};
}

inline const char* truth_name(filter_truth t) {
  return t == filter_truth::true_ ? "TRUE" : t == filter_truth::false_ ? "FALSE" : "UNKNOWN";
}

}  // namespace fieldsync::protocol::test
