#include "server/app/config_file.hpp"

#include "server/core/endpoint.hpp"
#include "server/net/origin_policy.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <limits>
#include <set>
#include <variant>
#include <vector>

extern char** environ;

namespace fieldsync::server {

namespace {

using string_map = std::map<std::string, std::string>;
using target = std::variant<std::string*, std::int64_t*, std::size_t*, std::chrono::milliseconds*,
                            bool*, double*, std::vector<std::string>*, string_map*>;

// Integers, counts and durations (in milliseconds): read and range-checked as an int64, then
// stored in the field's own type.
template <class T>
constexpr bool is_integer_field = std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::size_t> ||
                                  std::is_same_v<T, std::chrono::milliseconds>;

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(c == '.' ? '_' : std::toupper(c)); });
  return s;
}

struct key_spec {
  key_spec(std::string t, std::string k, target f,
           std::int64_t lo = 0, std::int64_t hi = std::numeric_limits<std::int64_t>::max(),
           std::vector<std::string> allowed = {})
      : table(std::move(t)), key(std::move(k)), field(f), min(lo), max(hi),
        choices(std::move(allowed)) {}

  std::string table;  // "server", "collections.accounts", "auth.keys.dev"
  std::string key;
  target field;
  std::int64_t min;  // for integers
  std::int64_t max;
  std::vector<std::string> choices;  // for strings; empty means any

  std::string name() const { return table + "." + key; }
  std::string env_name() const { return "FIELDSYNC_" + upper(table) + "_" + upper(key); }
};

constexpr std::int64_t max_ms = 24LL * 3600 * 1000;
constexpr std::size_t min_admin_token_bytes = 24;

// The settings of the fixed sections. docs/config.md documents each of them.
std::vector<key_spec> section_schema(config& c) {
  return {
      {"server", "listen", &c.server.listen},
      {"server", "admin_listen", &c.server.admin_listen},
      {"server", "admin_token", &c.server.admin_token},
      {"server", "max_connections", &c.server.max_connections, 1, 1'000'000},
      {"server", "admin_max_connections", &c.server.admin_max_connections, 1, 100'000},
      {"server", "max_header_bytes", &c.server.max_header_bytes, 1024, 1024 * 1024},
      {"server", "max_body_bytes", &c.server.max_body_bytes, 1024, 1024LL * 1024 * 1024},
      {"server", "request_timeout_ms", &c.server.request_timeout, 100, max_ms},
      {"server", "keepalive_timeout_ms", &c.server.keepalive_timeout, 100, max_ms},
      {"server", "shutdown_timeout_ms", &c.server.shutdown_timeout, 0, max_ms},
      {"server", "drain_delay_ms", &c.server.drain_delay, 0, max_ms},
      {"server", "static_dir", &c.server.static_dir},
      {"server", "node_name", &c.server.node_name},
      {"server", "heartbeat_interval_ms", &c.server.heartbeat_interval, 100, 3'600'000},
      {"websocket", "max_message_bytes", &c.websocket.max_message_bytes, 1024, 256LL << 20},
      {"websocket", "send_queue_messages", &c.websocket.send_queue_messages, 1, 1'000'000},
      {"websocket", "send_queue_bytes", &c.websocket.send_queue_bytes, 1024, 1LL << 32},
      {"websocket", "handshake_timeout_ms", &c.websocket.handshake_timeout, 100, max_ms},
      {"websocket", "idle_timeout_ms", &c.websocket.idle_timeout, 1000, max_ms},
      {"websocket", "permessage_deflate", &c.websocket.permessage_deflate},
      {"websocket", "batch_bytes", &c.websocket.batch_bytes, 0, 64LL << 20},
      {"websocket", "auth_timeout_ms", &c.websocket.auth_timeout, 100, max_ms},
      {"websocket", "max_subscriptions_per_session", &c.websocket.max_subscriptions_per_session, 1,
       100'000},
      {"websocket", "max_sessions_per_user", &c.websocket.max_sessions_per_user, 1, 1'000'000},
      {"websocket", "allowed_origins", &c.websocket.allowed_origins},
      {"websocket", "snapshot_batch_rows", &c.websocket.snapshot_batch_rows, 1, 100'000},
      {"websocket", "fanout_read_changes", &c.websocket.fanout_read_changes, 2, 1'000'000},
      {"websocket", "max_queued_starts", &c.websocket.max_queued_starts, 1, 10'000'000},
      {"websocket", "start_stall_timeout_ms", &c.websocket.start_stall_timeout, 100, max_ms},
      {"database", "dsn", &c.database.dsn},
      {"database", "storage_dsn", &c.database.storage_dsn},
      {"database", "pool_size", &c.database.pool_size, 1, 1000},
      {"database", "connect_timeout_ms", &c.database.connect_timeout, 100, max_ms},
      {"database", "acquire_timeout_ms", &c.database.acquire_timeout, 100, max_ms},
      {"database", "query_timeout_ms", &c.database.query_timeout, 0, max_ms},
      {"database", "lock_timeout_ms", &c.database.lock_timeout, 0, max_ms},
      {"database", "idle_in_transaction_timeout_ms", &c.database.idle_in_transaction_timeout, 0,
       max_ms},
      {"database", "listen_check_interval_ms", &c.database.listen_check_interval, 100, max_ms},
      {"database", "statement_timeout_ms", &c.database.statement_timeout, 0, max_ms},
      {"replication", "ingest", &c.replication.ingest},
      {"replication", "slot", &c.replication.slot},
      {"replication", "publication", &c.replication.publication},
      {"replication", "status_interval_ms", &c.replication.status_interval, 100, 600'000},
      {"replication", "heartbeat_interval_ms", &c.replication.heartbeat_interval, 100, 3'600'000},
      {"replication", "reconnect_min_ms", &c.replication.reconnect_min, 10, max_ms},
      {"replication", "reconnect_max_ms", &c.replication.reconnect_max, 10, max_ms},
      {"replication", "leader_retry_ms", &c.replication.leader_retry, 10, max_ms},
      {"replication", "max_transaction_bytes", &c.replication.max_transaction_bytes, 64 * 1024,
       1LL << 34},
      {"replication", "batch_max_changes", &c.replication.batch_max_changes, 1, 10'000'000},
      {"replication", "batch_max_bytes", &c.replication.batch_max_bytes, 64 * 1024, 1LL << 32},
      {"changelog", "history_ms", &c.changelog.history, 0, 3650LL * max_ms},
      {"changelog", "tombstone_ms", &c.changelog.tombstone, 0, 3650LL * max_ms},
      {"changelog", "compaction_interval_ms", &c.changelog.compaction_interval, 1000, max_ms},
      {"pulls", "long_poll_timeout_ms", &c.pulls.long_poll_timeout, 100, max_ms},
      {"pulls", "default_limit", &c.pulls.default_limit, 1, 1'000'000},
      {"pulls", "max_limit", &c.pulls.max_limit, 1, 1'000'000},
      {"pulls", "max_page_bytes", &c.pulls.max_page_bytes, 1024, 1LL << 30},
      {"pulls", "max_scan_changes", &c.pulls.max_scan_changes, 100, 100'000'000},
      {"pulls", "cache_bytes", &c.pulls.cache_bytes, 0, 1LL << 34},
      {"pulls", "cache_ttl_ms", &c.pulls.cache_ttl, 0, max_ms},
      {"pulls", "shape_chunk_rows", &c.pulls.shape_chunk_rows, 1, 1'000'000},
      {"pulls", "max_long_polls_per_user", &c.pulls.max_long_polls_per_user, 1, 1'000'000},
      {"log",
       "level",
       &c.log.level,
       0,
       0,
       {"trace", "debug", "info", "warn", "error", "critical", "off"}},
      {"log", "format", &c.log.format, 0, 0, {"text", "json"}},
      {"auth", "issuer", &c.auth.issuer},
      {"auth", "audience", &c.auth.audience},
      {"auth", "leeway_ms", &c.auth.leeway, 0, 3'600'000},
      {"auth", "max_token_bytes", &c.auth.max_token_bytes, 256, 1 << 20},
      {"auth", "max_token_age_ms", &c.auth.max_token_age, 0, 3650LL * max_ms},
      {"auth", "revocation_refresh_ms", &c.auth.revocation_refresh, 100, max_ms},
      {"dev", "demo_seed", &c.dev.demo_seed, 0, std::numeric_limits<std::int64_t>::max()},
      {"dev", "demo_scale", &c.dev.demo_scale},
      {"dev", "etl_interval_ms", &c.dev.etl_interval, 0, max_ms},
      {"dev", "insights_interval_ms", &c.dev.insights_interval, 0, max_ms},
      {"mutations", "max_batch", &c.mutations.max_batch, 1, 100'000},
      {"mutations", "max_value_bytes", &c.mutations.max_value_bytes, 16, 256LL << 20},
      {"mutations", "result_retention", &c.mutations.result_retention, 1, 10'000'000},
      {"mutations", "client_retention_ms", &c.mutations.client_retention, 3'600'000,
       3650LL * max_ms},
      {"mutations", "max_clients_per_subject", &c.mutations.max_clients_per_subject, 1, 1'000'000},
      {"mutations", "version_wait_ms", &c.mutations.version_wait, 0, 600'000},
      {"mutations", "lock_timeout_ms", &c.mutations.lock_timeout, 0, max_ms},
      {"mutations", "max_queued_pushes", &c.mutations.max_queued_pushes, 1, 1000},
      {"mutations", "max_clock_drift_ms", &c.mutations.max_clock_drift, 0, max_ms},
      {"mutations", "conflict_retention_ms", &c.mutations.conflict_retention, 60'000,
       3650LL * max_ms},
  };
}

std::vector<key_spec> jwt_key_schema(const std::string& table, jwt_key_config& k) {
  return {
      {table, "alg", &k.alg, 0, 0, {"HS256", "RS256", "ES256"}},
      {table, "secret", &k.secret},
      {table, "public_key_file", &k.public_key_file},
  };
}

std::vector<key_spec> collection_schema(const std::string& table, collection_config& c) {
  return {
      {table, "table", &c.table},
      {table, "primary_key", &c.primary_key},
      {table, "columns", &c.columns},
      {table, "read_scope", &c.read_scope},
      {table, "write_scope", &c.write_scope},
      {table, "writable_columns", &c.writable_columns},
      {table, "server_set", &c.server_set},
      {table, "public", &c.is_public},
      {table + ".merge", "default", &c.merge.default_strategy},
      {table + ".merge",
       "update_deleted",
       &c.merge.update_deleted,
       0,
       0,
       {"delete-wins", "update-wins"}},
      {table + ".merge",
       "delete_changed",
       &c.merge.delete_changed,
       0,
       0,
       {"reject", "delete-wins"}},
      {table + ".merge",
       "insert_existing",
       &c.merge.insert_existing,
       0,
       0,
       {"reject", "merge-as-update"}},
      {table + ".merge", "fields", &c.merge.fields},
  };
}

// Named sub-tables: [auth.keys.<kid>] and [collections.<name>].
struct entry_kind {
  std::string table;  // "auth.keys" or "collections"
  std::function<std::vector<key_spec>(const std::string& name, const std::string& table)> add;
};

const char* kind_name(const target& t) {
  return std::visit(
      [](auto* p) -> const char* {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) return "a string";
        else if constexpr (is_integer_field<T>) return "an integer";
        else if constexpr (std::is_same_v<T, bool>) return "a boolean (true or false)";
        else if constexpr (std::is_same_v<T, double>) return "a number";
        else if constexpr (std::is_same_v<T, string_map>) return "a table of strings";
        else return "an array of strings";
      },
      t);
}

const char* toml_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date or time";
  }
}

bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

// Stores an integer setting once its range is checked; `where` prefixes the message.
template <class T>
void store_integer(const key_spec& spec, T* field, std::int64_t v, const std::string& where) {
  if (v < spec.min || v > spec.max) {
    throw config_error(where + ": " + spec.name() + " must be between " +
                       std::to_string(spec.min) + " and " + std::to_string(spec.max) +
                       ", got " + std::to_string(v));
  }
  *field = T(v);
}

// Checks choices and numbers once the value is stored; `where` prefixes the message.
void validate(const key_spec& spec, const std::string& where) {
  if (auto* s = std::get_if<std::string*>(&spec.field)) {
    if (!spec.choices.empty() &&
        std::find(spec.choices.begin(), spec.choices.end(), **s) == spec.choices.end()) {
      std::string list;
      for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
      throw config_error(where + ": " + spec.name() + " must be one of " + list + ", got \"" +
                         **s + "\"");
    }
  } else if (auto* d = std::get_if<double*>(&spec.field)) {
    if (!(**d > 0) || **d > 1e6) {
      throw config_error(where + ": " + spec.name() + " must be a positive number");
    }
  }
}

void apply_toml(const key_spec& spec, const toml::node& node, const std::string& where) {
  bool ok = std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, string_map>) {
          const auto* table = node.as_table();
          if (!table) return false;
          p->clear();
          for (const auto& [k, v] : *table) {
            auto text = v.template value_exact<std::string>();
            if (!text) return false;
            (*p)[std::string(k.str())] = *text;
          }
          return true;
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          const auto* arr = node.as_array();
          if (!arr) return false;
          p->clear();
          for (const auto& item : *arr) {
            auto v = item.value_exact<std::string>();
            if (!v) return false;
            p->push_back(*v);
          }
          return true;
        } else if constexpr (std::is_same_v<T, double>) {
          if (auto v = node.value<double>()) { *p = *v; return true; }  // ints widen too
          return false;
        } else if constexpr (is_integer_field<T>) {
          auto v = node.value_exact<std::int64_t>();
          if (!v) return false;
          store_integer(spec, p, *v, where);
          return true;
        } else {
          if (auto v = node.value_exact<T>()) { *p = *v; return true; }
          return false;
        }
      },
      spec.field);
  if (!ok) {
    throw config_error(where + ": " + spec.name() + " must be " + kind_name(spec.field) +
                       ", got " + toml_type_name(node));
  }
  validate(spec, where);
}

void apply_env(const key_spec& spec, const std::string& text) {
  const std::string where = "environment " + spec.env_name();
  bool ok = std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          *p = text;
          return true;
        } else if constexpr (std::is_same_v<T, string_map>) {
          // name=value pairs, comma-separated: calls_done=counter,revenue=counter.
          p->clear();
          std::string_view rest = text;
          while (!rest.empty()) {
            auto comma = rest.find(',');
            auto pair = rest.substr(0, comma);
            auto eq = pair.find('=');
            if (eq == std::string_view::npos || eq == 0) return false;
            (*p)[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
          }
          return true;
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          // Comma-separated, for the environment.
          p->clear();
          std::string_view rest = text;
          while (!rest.empty()) {
            auto comma = rest.find(',');
            p->emplace_back(rest.substr(0, comma));
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
          }
          return true;
        } else if constexpr (std::is_same_v<T, bool>) {
          if (text == "true" || text == "1") { *p = true; return true; }
          if (text == "false" || text == "0") { *p = false; return true; }
          return false;
        } else if constexpr (is_integer_field<T>) {
          std::int64_t v = 0;
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
          if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return false;
          store_integer(spec, p, v, where);
          return true;
        } else {
          char* end = nullptr;
          double v = std::strtod(text.c_str(), &end);
          if (text.empty() || end != text.c_str() + text.size()) return false;
          *p = v;
          return true;
        }
      },
      spec.field);
  if (!ok) {
    throw config_error(where + ": " + spec.name() + " must be " + kind_name(spec.field) +
                       ", got \"" + text + "\"");
  }
  validate(spec, where);
}

class loader {
 public:
  loader(config& cfg, const std::optional<std::filesystem::path>& file)
      : cfg_(cfg), file_(file), specs_(section_schema(cfg)) {
    // Entries that came with the defaults can be overridden from the environment too.
    for (auto& k : cfg_.auth.keys) {
      auto more = jwt_key_schema("auth.keys." + k.kid, k);
      specs_.insert(specs_.end(), more.begin(), more.end());
    }
    for (auto& c : cfg_.collections) {
      auto more = collection_schema("collections." + c.name, c);
      specs_.insert(specs_.end(), more.begin(), more.end());
    }
    for (const auto& s : specs_) sections_.insert(s.table);
    sections_.insert("collections");
    kinds_.push_back({"auth.keys", [this](const std::string& name, const std::string& table) {
                        auto& k = cfg_.auth.keys.emplace_back();
                        k.kid = name;
                        return jwt_key_schema(table, k);
                      }});
    kinds_.push_back({"collections", [this](const std::string& name, const std::string& table) {
                        auto& c = cfg_.collections.emplace_back();
                        c.name = name;
                        return collection_schema(table, c);
                      }});
  }

  void load_file() {
    toml::table root;
    try {
      root = toml::parse_file(file_->string());
    } catch (const toml::parse_error& e) {
      throw config_error(location(e.source()) + ": " + std::string(e.description()));
    } catch (const std::exception& e) {
      throw config_error(file_->string() + ": " + e.what());
    }
    // Entries first, so that their vectors no longer grow while specs point into them.
    reserve_entries(root);
    for (const auto& [section_key, section_node] : root) {
      std::string section(section_key.str());
      if (!sections_.contains(section)) {
        throw config_error(location(section_node.source()) + ": unknown section [" + section + "]");
      }
      apply_table(section, section_node);
    }
  }

  void apply_environment(const environment& env) {
    for (const auto& [name, value] : env) {
      // `env_name`, not `name`: clang before 16 cannot capture a structured binding.
      auto it = std::find_if(specs_.begin(), specs_.end(), [&env_name = name](const key_spec& s) {
        return s.env_name() == env_name;
      });
      if (it != specs_.end()) {
        apply_env(*it, value);
        continue;
      }
      // A variable under a known section's prefix that names nothing is a typo. Entries
      // ([collections.x], [auth.keys.y]) can be changed from the environment, not created.
      for (const auto& section : sections_) {
        if (name.starts_with("FIELDSYNC_" + upper(section) + "_")) {
          bool entries = section == "collections" || name.starts_with("FIELDSYNC_AUTH_KEYS_");
          throw config_error("environment " + name + ": unknown key in section [" + section + "]" +
                             (entries ? " (entries of [collections] and [auth.keys] must exist "
                                        "in the file to be overridden)"
                                      : ""));
        }
      }
    }
  }

  void check_required(bool require_dsn) {
    for (const auto* spec_name : {"listen", "admin_listen"}) {
      const std::string& value = std::string_view(spec_name) == "listen"
                                     ? cfg_.server.listen : cfg_.server.admin_listen;
      if (!parse_endpoint(value)) {
        throw config_error("server." + std::string(spec_name) + ": \"" + value +
                           "\" is not an address:port to listen on (e.g. 0.0.0.0:8080)");
      }
    }
    for (const auto* name : {&cfg_.replication.slot, &cfg_.replication.publication}) {
      // Slot names allow lower-case letters, digits and underscores only (PostgreSQL).
      bool ok = !name->empty() && name->size() <= 63 &&
                std::all_of(name->begin(), name->end(), [](unsigned char ch) {
                  return std::islower(ch) || std::isdigit(ch) || ch == '_';
                });
      if (!ok) {
        throw config_error(origin() + ": replication." +
                           (name == &cfg_.replication.slot ? "slot" : "publication") + ": \"" +
                           *name + "\" must be lower-case letters, digits and _ (at most 63)");
      }
    }
    for (const auto& o : cfg_.websocket.allowed_origins) {
      if (!valid_origin_pattern(o)) {
        throw config_error(origin() + ": websocket.allowed_origins: \"" + o +
                           "\" is not an origin (\"https://app.example.com\", "
                           "\"http://localhost:*\", \"*\")");
      }
    }
    if (cfg_.replication.reconnect_min > cfg_.replication.reconnect_max) {
      throw config_error(origin() + ": replication.reconnect_min_ms is above replication.reconnect_max_ms");
    }
    // A snapshot's transaction stays open, idle, while its WebSocket client reads slowly
    // (up to websocket.idle_timeout_ms) and a streamed pull's while its HTTP answer is
    // written (server.request_timeout_ms): the server must not end them first.
    if (const auto idle = cfg_.database.idle_in_transaction_timeout;
        idle.count() != 0 &&
        (idle <= cfg_.websocket.idle_timeout || idle <= cfg_.server.request_timeout)) {
      throw config_error(
          origin() + ": database.idle_in_transaction_timeout_ms (" + std::to_string(idle.count()) +
          ") must be above websocket.idle_timeout_ms and server.request_timeout_ms, or 0");
    }
    // An admin token is the key to every client's data and to disconnecting anyone: one
    // short enough to guess is refused rather than trusted.
    if (!cfg_.server.admin_token.empty() &&
        cfg_.server.admin_token.size() < min_admin_token_bytes) {
      throw config_error(
          origin() + ": server.admin_token must be at least " +
          std::to_string(min_admin_token_bytes) +
          " characters (e.g. openssl rand -hex 32), or empty to disable the admin API");
    }
    if (require_dsn && cfg_.database.dsn.empty()) {
      throw config_error(origin() + ": missing required key database.dsn (or FIELDSYNC_DATABASE_DSN)");
    }
    for (const auto& k : cfg_.auth.keys) {
      std::string t = "auth.keys." + k.kid;
      if (k.alg.empty()) throw config_error(origin() + ": missing required key " + t + ".alg");
      bool hs = k.alg == "HS256";
      if (hs && (k.secret.empty() || !k.public_key_file.empty())) {
        throw config_error(origin() + ": " + t + ": HS256 needs secret (and no public_key_file)");
      }
      if (!hs && (k.public_key_file.empty() || !k.secret.empty())) {
        throw config_error(origin() + ": " + t + ": " + k.alg + " needs public_key_file (and no secret)");
      }
    }
    for (auto& c : cfg_.collections) {
      std::string t = "collections." + c.name;
      if (!is_identifier(c.name)) {
        throw config_error(origin() + ": [" + t + "]: a collection name is an identifier ([A-Za-z_][A-Za-z0-9_]*)");
      }
      if (c.table.empty()) c.table = c.name;
      auto dot = c.table.find('.');
      if (!is_identifier(c.table.substr(0, dot)) ||
          (dot != std::string::npos && !is_identifier(c.table.substr(dot + 1)))) {
        throw config_error(origin() + ": " + t + ".table: \"" + c.table + "\" is not table or schema.table");
      }
      if (c.primary_key.empty()) {
        throw config_error(origin() + ": missing required key " + t + ".primary_key");
      }
      for (const auto* list : {&c.primary_key, &c.columns, &c.writable_columns}) {
        for (const auto& col : *list) {
          if (!is_identifier(col)) {
            throw config_error(origin() + ": " + t + ": \"" + col + "\" is not a column name");
          }
        }
      }
      for (const auto& [column, value] : c.server_set) {
        bool claim = value.starts_with("$claims.") && is_identifier(value.substr(8));
        if (!is_identifier(column) || !(claim || value == "now()")) {
          throw config_error(origin() + ": " + t + ".server_set: \"" + column + "\" = \"" + value +
                             "\": a column name set to \"$claims.<name>\" or \"now()\"");
        }
        if (std::find(c.primary_key.begin(), c.primary_key.end(), column) != c.primary_key.end() &&
            value == "now()") {
          throw config_error(
              origin() + ": " + t + ".server_set: key column \"" + column +
              "\" cannot be set to now() (a key changes only by its client's write)");
        }
      }
      for (const auto& [column, strategy] : c.merge.fields) {
        if (!is_identifier(column)) {
          throw config_error(origin() + ": " + t + ".merge.fields: \"" + column + "\" is not a column name");
        }
      }
      static const auto registry = conflicts::strategy_registry::builtin();
      auto problems = conflicts::validate_merge_config(merge_config_of(c), registry);
      if (!problems.empty()) {
        throw config_error(origin() + ": " + t + ".merge: " + problems.front().message);
      }
    }
  }

 private:
  std::string location(const toml::source_region& src) const {
    return file_->string() + ":" + std::to_string(src.begin.line);
  }
  std::string origin() const { return file_ ? file_->string() : std::string("configuration"); }

  // Entries of the file replace the defaults' (fieldsync dev has demo ones). Reserving
  // keeps the vectors from reallocating while key_specs point into their elements.
  void reserve_entries(const toml::table& root) {
    auto drop_specs = [this](std::string_view prefix) {
      std::erase_if(specs_, [&](const key_spec& s) { return s.table.starts_with(prefix); });
    };
    if (const auto* keys = root["auth"]["keys"].as_table()) {
      drop_specs("auth.keys.");
      cfg_.auth.keys.clear();
      cfg_.auth.keys.reserve(keys->size());
    }
    if (const auto* cols = root["collections"].as_table()) {
      drop_specs("collections.");
      cfg_.collections.clear();
      cfg_.collections.reserve(cols->size());
    }
  }

  void apply_table(const std::string& table, const toml::node& node) {
    const auto* t = node.as_table();
    if (!t) throw config_error(location(node.source()) + ": " + table + " must be a table");
    for (const auto& [key_node, child] : *t) {
      std::string key(key_node.str());
      std::string path = table + "." + key;
      auto kind = std::find_if(kinds_.begin(), kinds_.end(),
                               [&](const entry_kind& k) { return k.table == table; });
      if (kind != kinds_.end()) {
        // A named entry: [collections.accounts], [auth.keys.dev].
        const auto* entry = child.as_table();
        if (!entry) {
          throw config_error(location(child.source()) + ": " + path + " must be a table");
        }
        auto entry_specs = kind->add(key, path);
        apply_keys(path, *entry, entry_specs);
        specs_.insert(specs_.end(), entry_specs.begin(), entry_specs.end());
        continue;
      }
      if (path == "auth.keys") {
        apply_table(path, child);
        continue;
      }
      auto it = std::find_if(specs_.begin(), specs_.end(), [&](const key_spec& s) {
        return s.table == table && s.key == key;
      });
      if (it == specs_.end()) {
        throw config_error(location(child.source()) + ": unknown key " + path);
      }
      apply_toml(*it, child, location(child.source()));
    }
  }

  void apply_keys(const std::string& table, const toml::table& t, const std::vector<key_spec>& specs) {
    for (const auto& [key_node, child] : t) {
      std::string key(key_node.str());
      auto it = std::find_if(specs.begin(), specs.end(), [&](const key_spec& s) {
        return s.table == table && s.key == key;
      });
      if (it == specs.end()) {
        // A table nested in the entry: [collections.NAME.merge].
        std::string nested = table + "." + key;
        bool known = std::any_of(specs.begin(), specs.end(),
                                 [&](const key_spec& s) { return s.table == nested; });
        if (known && child.as_table()) {
          apply_keys(nested, *child.as_table(), specs);
          continue;
        }
        throw config_error(location(child.source()) + ": unknown key " + nested);
      }
      apply_toml(*it, child, location(child.source()));
    }
  }

  config& cfg_;
  const std::optional<std::filesystem::path>& file_;
  std::vector<key_spec> specs_;
  std::set<std::string> sections_;
  std::vector<entry_kind> kinds_;
};

}  // namespace

environment process_environment() {
  environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (!kv.starts_with("FIELDSYNC_")) continue;
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

config load_config(const std::optional<std::filesystem::path>& file, const environment& env,
                   const config& defaults, bool require_dsn) {
  config cfg = defaults;
  loader l(cfg, file);
  if (file) l.load_file();
  l.apply_environment(env);
  l.check_required(require_dsn);
  return cfg;
}

}  // namespace fieldsync::server
