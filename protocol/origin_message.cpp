#include "protocol/origin_message.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace fieldsync::protocol {

namespace json = boost::json;

namespace {

// The client id, mutation id and clock of one origin; nullopt when malformed.
std::optional<change_origin> origin_of(const json::object& o, std::string_view client_id) {
  const auto* mutation = o.if_contains("mutation_id");
  if (!mutation || !mutation->is_int64()) return std::nullopt;
  change_origin origin;
  origin.client_id = std::string(client_id);
  origin.mutation_id = mutation->get_int64();
  if (const auto* ts = o.if_contains("client_ts"); ts && ts->is_string()) {
    origin.client_ts = std::string(ts->get_string());
  }
  return origin;
}

}  // namespace

std::string batch_origin_content(std::string_view client_id,
                                 const std::vector<origin_write>& writes) {
  json::array list;
  list.reserve(writes.size());
  for (const auto& w : writes) {
    json::object o{{"mutation_id", w.mutation_id}, {"collection", w.collection}, {"key", w.key}};
    if (!w.client_ts.empty()) o["client_ts"] = w.client_ts;
    list.push_back(std::move(o));
  }
  return json::serialize(json::object{{"client_id", client_id}, {"writes", std::move(list)}});
}

announced_origins announced_origins::parse(std::string_view content) {
  announced_origins out;
  boost::system::error_code ec;
  auto v = json::parse(content, ec);
  if (ec || !v.is_object()) return out;
  const auto& o = v.get_object();
  const auto* client = o.if_contains("client_id");
  if (!client || !client->is_string()) return out;
  const auto* writes = o.if_contains("writes");
  if (!writes) {
    out.every_ = origin_of(o, client->get_string());
    return out;
  }
  if (!writes->is_array()) return out;
  for (const auto& w : writes->get_array()) {
    const auto* wo = w.if_object();
    if (!wo) return {};
    const auto* collection = wo->if_contains("collection");
    const auto* key = wo->if_contains("key");
    auto origin = origin_of(*wo, client->get_string());
    if (!collection || !collection->is_string() || !key || !key->is_string() || !origin) return {};
    out.by_row_[{std::string(collection->get_string()), std::string(key->get_string())}].push_back(
        std::move(*origin));
  }
  return out;
}

std::optional<change_origin> announced_origins::take(const std::string& collection,
                                                     const std::string& key) {
  if (every_) return every_;
  auto it = by_row_.find({collection, key});
  if (it == by_row_.end()) return std::nullopt;
  auto origin = std::move(it->second.front());
  it->second.pop_front();
  if (it->second.empty()) by_row_.erase(it);
  return origin;
}

}  // namespace fieldsync::protocol
