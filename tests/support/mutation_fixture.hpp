#pragma once
// Shared set-up of the mutation e2e tests: a synced table with one column per merge policy,
// the server config that syncs it, and pushes over real HTTP.
//
//   m_items (id int PRIMARY KEY, owner text NOT NULL, title text (lww), hits bigint (counter),
//            tags text[] (set-union), note text (reject), CHECK (hits >= 0))
//
// Read and write scopes: owner = $claims.sub.

#include "tests/support/http_client.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace fieldsync::test {

// Creates m_items with `rows` rows (ids 1..rows) owned by `owner`.
void create_mutation_schema(const std::string& dsn, int rows, const std::string& owner = "u1");

// [replication] (slot and publication named after the database), [auth.keys.test],
// [collections.m_items] with its merge policies, and [mutations] with `mutations_extra`.
std::string mutation_sections(const std::string& database, const std::string& mutations_extra = "");

// Waits until the change log holds `rows` live rows of collection m_items (the initial copy
// is done and the ingest streams).
void wait_for_log_rows(const std::string& dsn, int rows);

// query_value, or "" while the change log's tables do not exist yet.
std::string log_value(const std::string& dsn, const std::string& sql);

// POST /v1/mutations with a token for `subject`.
http_reply push(std::uint16_t port, const std::string& subject, const boost::json::value& batch);

// Polls `done` every 20 ms; fails the test after `timeout`.
void wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                const std::string& what);

// The rows of a query as JSON (SELECT coalesce(json_agg(...), '[]')).
boost::json::value query_json(const std::string& dsn, const std::string& sql);

}  // namespace fieldsync::test
