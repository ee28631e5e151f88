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

}  // namespace fieldsync::storage
