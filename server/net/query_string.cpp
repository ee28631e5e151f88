#include "server/net/query_string.hpp"

#include "server/net/router.hpp"

namespace fieldsync::server {

namespace {

std::optional<std::string> decode_component(std::string_view s) {
  std::string spaced(s);
  for (auto& c : spaced) {
    if (c == '+') c = ' ';
  }
  return percent_decode(spaced);
}

}  // namespace

std::optional<query_params> parse_query(std::string_view query) {
  query_params out;
  std::size_t i = 0;
  while (i <= query.size()) {
    auto amp = query.find('&', i);
    if (amp == std::string_view::npos) amp = query.size();
    auto part = query.substr(i, amp - i);
    i = amp + 1;
    if (part.empty()) continue;
    auto eq = part.find('=');
    auto name = decode_component(part.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                              : decode_component(part.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

const std::string* find_param(const query_params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return &v;
  }
  return nullptr;
}

}  // namespace fieldsync::server
