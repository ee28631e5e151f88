#include "storage/pg_conninfo.hpp"

#include <libpq-fe.h>

#include <memory>

namespace fieldsync::storage {

std::string describe_conninfo(std::string_view conninfo) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> opts(
      PQconninfoParse(std::string(conninfo).c_str(), &err), &PQconninfoFree);
  if (!opts) {
    std::string why = err ? err : "out of memory";
    if (err) PQfreemem(err);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return "invalid connection string: " + why;
  }
  std::string out;
  for (const char* key : {"host", "hostaddr", "port", "dbname", "user"}) {
    for (auto* o = opts.get(); o->keyword; ++o) {
      if (std::string_view(o->keyword) == key && o->val && *o->val) {
        out += (out.empty() ? "" : " ") + std::string(key) + "=" + o->val;
      }
    }
  }
  return out.empty() ? "(libpq defaults)" : out;
}

namespace {

// A conninfo value in single quotes: \ and ' escaped (libpq's syntax).
std::string quoted(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string conninfo_with_setting(std::string_view conninfo, std::string_view name,
                                  std::string_view value) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> opts(
      PQconninfoParse(std::string(conninfo).c_str(), &err), &PQconninfoFree);
  if (err) PQfreemem(err);
  if (!opts) return std::string(conninfo);
  std::string out;
  std::string options;
  for (auto* o = opts.get(); o->keyword; ++o) {
    if (!o->val) continue;
    if (std::string_view(o->keyword) == "options") {
      options = o->val;
      continue;
    }
    out += std::string(o->keyword) + "=" + quoted(o->val) + " ";
  }
  options += (options.empty() ? "" : " ") + std::string("-c ") + std::string(name) + "=" +
             std::string(value);
  return out + "options=" + quoted(options);
}

}  // namespace fieldsync::storage
