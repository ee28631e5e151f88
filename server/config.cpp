#include "server/config.hpp"

#include "server/endpoint.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <set>
#include <variant>
#include <vector>

extern char** environ;

namespace fieldsync::server {

namespace {

using target = std::variant<std::string*, std::int64_t*, bool*, double*>;

struct key_spec {
  key_spec(std::string s, std::string k, target f,
           std::int64_t lo = 0, std::int64_t hi = std::numeric_limits<std::int64_t>::max(),
           std::vector<std::string> allowed = {})
      : section(std::move(s)), key(std::move(k)), field(f), min(lo), max(hi),
        choices(std::move(allowed)) {}

  std::string section;
  std::string key;
  target field;
  std::int64_t min;  // for integers
  std::int64_t max;
  std::vector<std::string> choices;  // for strings; empty means any

  std::string name() const { return section + "." + key; }
  std::string env_name() const {
    std::string n = "FIELDSYNC_" + section + "_" + key;
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return n;
  }
};

// The one list of settings. docs/config.md documents each of them.
std::vector<key_spec> schema(config& c) {
  constexpr std::int64_t max_ms = 24LL * 3600 * 1000;
  return {
      {"server", "listen", &c.server.listen},
      {"server", "admin_listen", &c.server.admin_listen},
      {"server", "admin_token", &c.server.admin_token},
      {"server", "max_connections", &c.server.max_connections, 1, 1'000'000},
      {"server", "max_header_bytes", &c.server.max_header_bytes, 1024, 1024 * 1024},
      {"server", "max_body_bytes", &c.server.max_body_bytes, 1024, 1024LL * 1024 * 1024},
      {"server", "request_timeout_ms", &c.server.request_timeout_ms, 100, max_ms},
      {"server", "keepalive_timeout_ms", &c.server.keepalive_timeout_ms, 100, max_ms},
      {"server", "shutdown_timeout_ms", &c.server.shutdown_timeout_ms, 0, max_ms},
      {"websocket", "max_message_bytes", &c.websocket.max_message_bytes, 1024, 256LL << 20},
      {"websocket", "send_queue_messages", &c.websocket.send_queue_messages, 1, 1'000'000},
      {"websocket", "send_queue_bytes", &c.websocket.send_queue_bytes, 1024, 1LL << 32},
      {"websocket", "handshake_timeout_ms", &c.websocket.handshake_timeout_ms, 100, max_ms},
      {"websocket", "idle_timeout_ms", &c.websocket.idle_timeout_ms, 1000, max_ms},
      {"websocket", "permessage_deflate", &c.websocket.permessage_deflate},
      {"database", "dsn", &c.database.dsn},
      {"database", "pool_size", &c.database.pool_size, 1, 1000},
      {"database", "connect_timeout_ms", &c.database.connect_timeout_ms, 100, max_ms},
      {"log", "level", &c.log.level, 0, 0,
       {"trace", "debug", "info", "warn", "error", "critical", "off"}},
      {"log", "format", &c.log.format, 0, 0, {"text", "json"}},
      {"dev", "demo_seed", &c.dev.demo_seed, 0, std::numeric_limits<std::int64_t>::max()},
      {"dev", "demo_scale", &c.dev.demo_scale},
      {"dev", "etl_interval_ms", &c.dev.etl_interval_ms, 0, max_ms},
  };
}

const char* kind_name(const target& t) {
  return std::visit(
      [](auto* p) -> const char* {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) return "a string";
        else if constexpr (std::is_same_v<T, std::int64_t>) return "an integer";
        else if constexpr (std::is_same_v<T, bool>) return "a boolean (true or false)";
        else return "a number";
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

// Checks range and choices once the value is stored; `where` prefixes the message.
void validate(const key_spec& spec, const std::string& where) {
  if (auto* i = std::get_if<std::int64_t*>(&spec.field)) {
    if (**i < spec.min || **i > spec.max) {
      throw config_error(where + ": " + spec.name() + " must be between " +
                         std::to_string(spec.min) + " and " + std::to_string(spec.max) +
                         ", got " + std::to_string(**i));
    }
  } else if (auto* s = std::get_if<std::string*>(&spec.field)) {
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
        if constexpr (std::is_same_v<T, double>) {
          if (auto v = node.value<double>()) { *p = *v; return true; }  // ints widen too
          return false;
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
        } else if constexpr (std::is_same_v<T, bool>) {
          if (text == "true" || text == "1") { *p = true; return true; }
          if (text == "false" || text == "0") { *p = false; return true; }
          return false;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          T v{};
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
          if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return false;
          *p = v;
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

std::string location(const std::filesystem::path& file, const toml::source_region& src) {
  return file.string() + ":" + std::to_string(src.begin.line);
}

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
  auto specs = schema(cfg);
  std::set<std::string> sections;
  for (const auto& s : specs) sections.insert(s.section);

  if (file) {
    toml::table root;
    try {
      root = toml::parse_file(file->string());
    } catch (const toml::parse_error& e) {
      std::string what(e.description());
      throw config_error(location(*file, e.source()) + ": " + what);
    } catch (const std::exception& e) {
      throw config_error(file->string() + ": " + e.what());
    }
    for (const auto& [section_key, section_node] : root) {
      std::string section(section_key.str());
      if (!sections.contains(section)) {
        throw config_error(location(*file, section_node.source()) + ": unknown section [" +
                           section + "]");
      }
      const auto* table = section_node.as_table();
      if (!table) {
        throw config_error(location(*file, section_node.source()) + ": " + section +
                           " must be a table");
      }
      for (const auto& [key, node] : *table) {
        auto it = std::find_if(specs.begin(), specs.end(), [&](const key_spec& s) {
          return s.section == section && s.key == key.str();
        });
        if (it == specs.end()) {
          throw config_error(location(*file, node.source()) + ": unknown key " + section + "." +
                             std::string(key.str()));
        }
        apply_toml(*it, node, location(*file, node.source()));
      }
    }
  }

  // FIELDSYNC_<SECTION>_<KEY>. A variable whose prefix names a known section but no key of
  // it is a typo and an error; other FIELDSYNC_* variables are not settings and are ignored.
  for (const auto& [name, value] : env) {
    auto it = std::find_if(specs.begin(), specs.end(),
                           [&](const key_spec& s) { return s.env_name() == name; });
    if (it != specs.end()) {
      apply_env(*it, value);
      continue;
    }
    for (const auto& section : sections) {
      std::string prefix = "FIELDSYNC_" + section + "_";
      std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      if (name.starts_with(prefix)) {
        throw config_error("environment " + name + ": unknown key in section [" + section + "]");
      }
    }
  }

  for (const auto* spec_name : {"listen", "admin_listen"}) {
    const std::string& value = spec_name == std::string_view("listen") ? cfg.server.listen
                                                                       : cfg.server.admin_listen;
    if (!parse_endpoint(value)) {
      throw config_error("server." + std::string(spec_name) + ": \"" + value +
                         "\" is not an address:port to listen on (e.g. 0.0.0.0:8080)");
    }
  }
  if (require_dsn && cfg.database.dsn.empty()) {
    throw config_error((file ? file->string() : std::string("configuration")) +
                       ": missing required key database.dsn (or FIELDSYNC_DATABASE_DSN)");
  }
  return cfg;
}

}  // namespace fieldsync::server
