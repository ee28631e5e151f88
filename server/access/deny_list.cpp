#include "server/access/deny_list.hpp"

#include <algorithm>

namespace fieldsync::server {

std::string_view to_string(revocation_kind k) noexcept {
  return k == revocation_kind::subject ? "sub" : "jti";
}

std::optional<revocation_kind> parse_revocation_kind(std::string_view text) noexcept {
  if (text == "sub") return revocation_kind::subject;
  if (text == "jti") return revocation_kind::token_id;
  return std::nullopt;
}

bool refuses(const revocation& r, const token_identity& who,
             std::chrono::system_clock::time_point now) noexcept {
  if (r.until && now >= *r.until) return false;
  if (r.kind == revocation_kind::token_id) return !who.token_id.empty() && who.token_id == r.value;
  if (who.subject.empty() || who.subject != r.value) return false;
  // iat has whole seconds: a token issued in the second of the revocation, before or after
  // it, reads as earlier and is refused; the next second's tokens are accepted.
  return !who.issued_at || *who.issued_at < r.revoked_at;
}

deny_decision deny_list::check(const token_identity& who,
                               std::chrono::system_clock::time_point now) const {
  std::lock_guard lock(mutex_);
  if (entries_.empty()) return deny_decision::allowed;
  if (!who.token_id.empty()) {
    auto it = entries_.find(key{revocation_kind::token_id, std::string(who.token_id)});
    if (it != entries_.end() && refuses(it->second, who, now)) return deny_decision::token_revoked;
  }
  if (!who.subject.empty()) {
    auto it = entries_.find(key{revocation_kind::subject, std::string(who.subject)});
    if (it != entries_.end() && refuses(it->second, who, now))
      return deny_decision::subject_revoked;
  }
  return deny_decision::allowed;
}

void deny_list::put(revocation r) {
  std::lock_guard lock(mutex_);
  key k{r.kind, r.value};
  entries_.insert_or_assign(std::move(k), std::move(r));
  ++generation_;
}

bool deny_list::lift(revocation_kind kind, std::string_view value) {
  std::lock_guard lock(mutex_);
  ++generation_;
  return entries_.erase(key{kind, std::string(value)}) > 0;
}

std::uint64_t deny_list::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

bool deny_list::replace(std::vector<revocation> all, std::uint64_t read_at) {
  std::map<key, revocation, std::less<>> fresh;
  for (auto& r : all) {
    key k{r.kind, r.value};
    fresh.insert_or_assign(std::move(k), std::move(r));
  }
  auto same = [](const auto& a, const auto& b) {
    return a.first == b.first && a.second.revoked_at == b.second.revoked_at &&
           a.second.until == b.second.until;
  };
  std::lock_guard lock(mutex_);
  if (generation_ != read_at) return false;
  bool changed = !std::equal(fresh.begin(), fresh.end(), entries_.begin(), entries_.end(), same);
  entries_ = std::move(fresh);
  // A replacement counts too: of two refreshes that read at the same generation (the loop
  // and GET /admin/v1/revocations), the one finishing second is ignored, so a read that
  // began earlier never overwrites one that began later.
  ++generation_;
  return changed;
}

std::vector<revocation> deny_list::entries() const {
  std::lock_guard lock(mutex_);
  std::vector<revocation> out;
  out.reserve(entries_.size());
  for (const auto& [k, r] : entries_) out.push_back(r);
  return out;
}

std::size_t deny_list::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace fieldsync::server
