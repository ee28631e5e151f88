#pragma once
// Revoked subjects and token ids (docs/security.md, "Revocation"): what the authenticator
// consults after a token's signature and times are good.
//
// The list lives in the storage database (fieldsync.revocations) so every node sees it;
// this is one node's copy of it. The node that takes a revocation puts it here at once;
// every node rereads the table every auth.revocation_refresh (revocation_store) and
// replaces its copy, unless a revocation was put or lifted here while it read (the read
// may predate it; the next one will not).
//
// A subject's revocation refuses the tokens of that subject issued before it (iat earlier
// than revoked_at): a token issued afterwards (a new login once the account is trusted
// again) is accepted. A token without iat cannot show when it was issued, so it is
// refused while its subject is revoked. A token id's revocation refuses that token (jti)
// whatever its times. An entry with `until` lapses then (and is pruned from the table).
//
// Concurrency contract: every member is thread-safe (one mutex; the checks are map look-ups).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fieldsync::server {

enum class revocation_kind { subject, token_id };

// "sub" or "jti", as the admin API and the table spell the kind.
std::string_view to_string(revocation_kind k) noexcept;
std::optional<revocation_kind> parse_revocation_kind(std::string_view text) noexcept;

struct revocation {
  revocation_kind kind = revocation_kind::subject;
  std::string value;  // the subject, or the token id
  std::chrono::system_clock::time_point revoked_at;
  std::optional<std::chrono::system_clock::time_point> until;  // lapses then; none: until lifted
};

enum class deny_decision { allowed, subject_revoked, token_revoked };

// What a token's claims meet; the pure decision the list makes per entry.
struct token_identity {
  std::string_view subject;                                        // empty: the token has no sub
  std::string_view token_id;                                       // empty: the token has no jti
  std::optional<std::chrono::system_clock::time_point> issued_at;  // iat
};

// Does `r` refuse a token of `who` at `now`? (Its kind and value already match.)
bool refuses(const revocation& r, const token_identity& who,
             std::chrono::system_clock::time_point now) noexcept;

class deny_list {
 public:
  deny_decision check(const token_identity& who, std::chrono::system_clock::time_point now) const;

  // Applies a revocation taken by this node (replacing one of the same kind and value).
  void put(revocation r);
  // Lifts one; false when there was none.
  bool lift(revocation_kind kind, std::string_view value);

  // Counts local puts, lifts and replacements; a refresh reads it before its query and
  // hands it back.
  std::uint64_t generation() const;
  // The whole list as stored, read when generation() was `read_at`. Ignored when a put, a
  // lift or another replacement happened since. True when the copy changed (sessions may
  // have to close).
  bool replace(std::vector<revocation> all, std::uint64_t read_at);

  std::vector<revocation> entries() const;
  std::size_t size() const;

 private:
  using key = std::pair<revocation_kind, std::string>;
  mutable std::mutex mutex_;
  std::map<key, revocation, std::less<>> entries_;
  std::uint64_t generation_ = 0;
};

}  // namespace fieldsync::server
