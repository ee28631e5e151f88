#include "protocol/mutation_request.hpp"

#include <array>

namespace fieldsync::protocol {

namespace json = boost::json;

std::string_view code(mutation_errc e) noexcept {
  switch (e) {
    case mutation_errc::bad_mutation: return "bad_mutation";
    case mutation_errc::unknown_collection: return "unknown_collection";
    case mutation_errc::unknown_column: return "unknown_column";
    case mutation_errc::wrong_type: return "wrong_type";
    case mutation_errc::not_null: return "not_null";
    case mutation_errc::too_large: return "too_large";
    case mutation_errc::missing_key: return "missing_key";
    case mutation_errc::key_immutable: return "key_immutable";
    case mutation_errc::forbidden: return "forbidden";
    case mutation_errc::bad_clock: return "bad_clock";
    case mutation_errc::clock_drift: return "clock_drift";
    case mutation_errc::constraint_violation: return "constraint_violation";
  }
  return "bad_mutation";
}

std::string_view to_string(mutation_op op) noexcept {
  switch (op) {
    case mutation_op::insert: return "insert";
    case mutation_op::update: return "update";
    case mutation_op::remove: return "delete";
  }
  return "update";
}

bool valid_client_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  for (unsigned char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

// The largest mutation id: 2^53 - 1, the largest integer every JSON client (a JavaScript
// number) holds exactly. Far below 2^63, so no arithmetic on ids (the next id, a gap, the
// retention window, a batch's last id) can overflow; a larger id is refused, not wrapped.
constexpr std::int64_t max_mutation_id = (std::int64_t{1} << 53) - 1;

std::optional<std::int64_t> positive_id(const json::value& v) {
  if (v.is_int64() && v.get_int64() > 0 && v.get_int64() <= max_mutation_id) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(max_mutation_id)) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  return std::nullopt;
}

mutation_problem bad(std::string message) {
  return {mutation_errc::bad_mutation, std::move(message)};
}

// Reads everything but the id; the first shape problem ends up in m.problem.
void read_mutation(const json::object& in, mutation& m) {
  static constexpr std::array<std::string_view, 9> known = {
      "mutation_id", "client_id", "collection", "op",       "key",
      "set",         "base",      "base_version", "client_ts"};
  for (const auto& member : in) {
    bool ok = false;
    for (auto k : known) ok = ok || member.key() == k;
    if (!ok) {
      m.problem = bad("unknown member \"" + std::string(member.key()) + "\"");
      return;
    }
  }
  const auto* collection = in.if_contains("collection");
  if (!collection || !collection->is_string() || collection->get_string().empty()) {
    m.problem = bad("collection must be a non-empty string");
    return;
  }
  m.collection = std::string(collection->get_string());
  const auto* op = in.if_contains("op");
  if (!op || !op->is_string()) {
    m.problem = bad("op must be \"insert\", \"update\" or \"delete\"");
    return;
  }
  std::string_view op_text = op->get_string();
  if (op_text == "insert") m.op = mutation_op::insert;
  else if (op_text == "update") m.op = mutation_op::update;
  else if (op_text == "delete") m.op = mutation_op::remove;
  else {
    m.problem = bad("op must be \"insert\", \"update\" or \"delete\", not \"" + std::string(op_text) + "\"");
    return;
  }
  auto object_member = [&](const char* name, json::object& out) {
    const auto* v = in.if_contains(name);
    if (!v || v->is_null()) return true;
    if (!v->is_object()) {
      m.problem = bad(std::string(name) + " must be an object");
      return false;
    }
    out = v->get_object();
    return true;
  };
  if (!object_member("key", m.key) || !object_member("set", m.set) ||
      !object_member("base", m.base)) {
    return;
  }
  if (m.op == mutation_op::remove && !m.set.empty()) {
    m.problem = bad("a delete sets nothing (send the row as the client saw it in base)");
    return;
  }
  if (const auto* v = in.if_contains("base_version"); v && !v->is_null()) {
    std::optional<lsn> parsed;
    if (v->is_string()) parsed = lsn::parse(v->get_string());
    if (!parsed) {
      m.problem = bad("base_version must be a row version like \"0/16B3A28\" or null");
      return;
    }
    m.base_version = parsed;
  }
  if (const auto* v = in.if_contains("client_ts"); v && !v->is_null()) {
    if (!v->is_string() || v->get_string().size() > 128) {
      m.problem = {mutation_errc::bad_clock, "client_ts must be a hybrid logical clock string"};
      return;
    }
    m.client_ts = std::string(v->get_string());
  }
}

}  // namespace

boost::system::result<mutation_batch, batch_error> parse_mutation_batch(
    const json::value& request, const batch_limits& limits) {
  auto refuse = [](std::string message) { return batch_error{"bad_request", std::move(message)}; };
  if (!request.is_object()) return refuse("a batch is a JSON object {\"client_id\", \"mutations\"}");
  const auto& obj = request.get_object();
  for (const auto& member : obj) {
    auto k = member.key();
    if (k != "client_id" && k != "mutations" && k != "type" && k != "id") {
      return refuse("unknown member \"" + std::string(k) + "\" in the batch");
    }
  }
  mutation_batch batch;
  const auto* client = obj.if_contains("client_id");
  if (!client || !client->is_string() || !valid_client_id(client->get_string())) {
    return refuse("client_id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -");
  }
  batch.client_id = std::string(client->get_string());
  const auto* list = obj.if_contains("mutations");
  if (!list || !list->is_array()) return refuse("mutations must be an array");
  const auto& arr = list->get_array();
  if (arr.size() > limits.max_mutations) {
    return batch_error{"batch_too_large", "a batch holds at most " +
                                              std::to_string(limits.max_mutations) +
                                              " mutations; split it"};
  }
  batch.mutations.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const auto& item = arr[i];
    std::string where = "mutations[" + std::to_string(i) + "]";
    if (!item.is_object()) return refuse(where + " is not an object");
    const auto& in = item.get_object();
    const auto* id = in.if_contains("mutation_id");
    auto parsed = id ? positive_id(*id) : std::nullopt;
    if (!parsed) {
      return refuse(where + ".mutation_id must be an integer from 1 to " +
                    std::to_string(max_mutation_id));
    }
    if (!batch.mutations.empty() && *parsed != batch.mutations.back().mutation_id + 1) {
      return refuse(where + ".mutation_id is " + std::to_string(*parsed) + ", expected " +
                    std::to_string(batch.mutations.back().mutation_id + 1) +
                    ": the ids of a batch are consecutive");
    }
    if (const auto* c = in.if_contains("client_id")) {
      if (!c->is_string() || c->get_string() != batch.client_id) {
        return refuse(where + ".client_id differs from the batch's client_id");
      }
    }
    auto& m = batch.mutations.emplace_back();
    m.mutation_id = *parsed;
    read_mutation(in, m);
  }
  return batch;
}

}  // namespace fieldsync::protocol
