#pragma once
// What the pull, Shape API and long-poll e2e tests share: a synced table with a scope, a
// signing key for bearer tokens, and the config sections that serve them.
//
// Test set-up code: blocking libpq, never on a reactor.

#include <boost/json/object.hpp>

#include <string>

namespace fieldsync::test {

inline constexpr const char* pull_secret = "pull-tests-secret-0123456789abcdef0123456789";

// HS256 with kid "test", exp an hour ahead, sub "tester" unless `claims` has one; `claims`
// are added.
std::string sign_token(const boost::json::object& claims);

// Table pull_accounts (id bigint key, territory_id int, stage text, amount numeric, note
// text), synced as collection "accounts" with read scope
// "territory_id = ANY($claims.territories)".
void create_pull_schema(const std::string& conninfo);

// [replication] (a slot of this database's own), [auth.keys.test], [collections.accounts]
// and [pulls] with `extra_pulls` appended to the section.
std::string pull_sections(const std::string& db_name, const std::string& extra_pulls = "");

// Writes a row outside every test scope and waits until the change log has it: whatever
// committed before is then in the log.
void wait_for_pull_log(const std::string& conninfo, int timeout_s = 60);

}  // namespace fieldsync::test
