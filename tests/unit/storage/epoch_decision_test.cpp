// The epoch decision at the start of an ingest session, including the attempt after a
// reset that failed half-way (the slot replaced, the log not yet emptied).

#include "storage/epoch_decision.hpp"

#include <catch2/catch.hpp>

using namespace fieldsync::storage;
using fieldsync::protocol::lsn;

namespace {

log_state stored_at(const char* resume, std::string slot = "fs") {
  log_state s;
  s.epoch = 1732550000000000;
  s.slot = std::move(slot);
  s.resume = s.high = s.horizon = *lsn::parse(resume);
  return s;
}

slot_state slot_at(const char* confirmed, std::string wal_status = "reserved") {
  slot_state s;
  s.plugin = "pgoutput";
  s.database = "app";
  s.wal_status = std::move(wal_status);
  s.lost = s.wal_status == "lost";
  s.confirmed_flush = *lsn::parse(confirmed);
  s.restart_lsn = s.confirmed_flush;
  return s;
}

}  // namespace

TEST_CASE("epoch decision: the log continues while the slot is where the log left it",
          "[storage][epoch]") {
  // PostgreSQL confirms what fieldsync confirmed; the log may be ahead of the slot (a
  // confirmation is sent after the commit, and may be lost in a crash).
  CHECK(decide_epoch(stored_at("0/5000"), slot_at("0/5000"), "fs").action == epoch_action::keep);
  CHECK(decide_epoch(stored_at("0/5000"), slot_at("0/4000"), "fs").action == epoch_action::keep);
}

TEST_CASE("epoch decision: first start, and a stray slot of a new log", "[storage][epoch]") {
  CHECK(decide_epoch(std::nullopt, std::nullopt, "fs").action == epoch_action::first_start);
  auto d = decide_epoch(std::nullopt, slot_at("0/9000"), "fs");
  CHECK(d.action == epoch_action::replace_slot);
  CHECK(d.reason.find("exists but this change log is new") != std::string::npos);
}

TEST_CASE("epoch decision: each way history is lost starts a new epoch", "[storage][epoch]") {
  auto missing = decide_epoch(stored_at("0/5000"), std::nullopt, "fs");
  CHECK(missing.action == epoch_action::new_epoch);
  CHECK(missing.reason.find("does not exist any more") != std::string::npos);

  auto lost = decide_epoch(stored_at("0/5000"), slot_at("0/5000", "lost"), "fs");
  CHECK(lost.action == epoch_action::new_epoch);
  CHECK(lost.reason.find("invalidated") != std::string::npos);

  auto restored = decide_epoch(stored_at("0/5000"), slot_at("0/6000"), "fs");
  CHECK(restored.action == epoch_action::new_epoch);
  CHECK(restored.reason.find("restored from a backup") != std::string::npos);

  auto renamed = decide_epoch(stored_at("0/5000", "old"), slot_at("0/5000"), "fs");
  CHECK(renamed.action == epoch_action::new_epoch);
  CHECK(renamed.reason.find("changed from old to fs") != std::string::npos);
}

TEST_CASE(
    "epoch decision: a reset that failed half-way is finished, never taken for a "
    "restored backup",
    "[storage][epoch]") {
  // The reset recorded itself, replaced the slot (now confirmed at its consistent point,
  // far past the old log's resume position) and failed before the log was emptied. The
  // slot looks like a restored backup's; the record says whose it is.
  auto marked = stored_at("0/5000", std::string(epoch_reset_marker));
  for (const auto& slot : {std::optional<slot_state>(slot_at("9/0")),
                           std::optional<slot_state>(),  // failed before the slot was made
                           std::optional<slot_state>(slot_at("9/0", "lost"))}) {
    auto d = decide_epoch(marked, slot, "fs");
    CHECK(d.action == epoch_action::finish_reset);
    CHECK(d.reason.find("restored") == std::string::npos);
  }
  // Even with another slot configured meanwhile: the reset is finished with that one.
  CHECK(decide_epoch(marked, slot_at("9/0"), "other").action == epoch_action::finish_reset);
  // The marker cannot be a slot's name, so a real slot is never mistaken for it.
  CHECK_FALSE(reset_pending(stored_at("0/5000")));
  CHECK(reset_pending(marked));
}

TEST_CASE("epoch decision: a source promoted after the log's last position starts a new epoch",
          "[storage][epoch]") {
  // A failover-slot tool carried the slot over, confirmed no further than the promoted
  // copy of the log: the slot alone looks fine, the timeline says the server was promoted.
  auto promoted = decide_epoch(stored_at("0/5000"), slot_at("0/4000"), "fs", *lsn::parse("0/5800"));
  CHECK(promoted.action == epoch_action::new_epoch);
  CHECK(promoted.reason.find("promoted") != std::string::npos);
  CHECK(promoted.reason.find("0/5800") != std::string::npos);

  // A timeline that began before the log's position: promoted long ago, the log written
  // on this timeline since. And no timeline information at all (timeline 1).
  CHECK(decide_epoch(stored_at("0/5000"), slot_at("0/5000"), "fs", *lsn::parse("0/1000")).action ==
        epoch_action::keep);
  CHECK(decide_epoch(stored_at("0/5000"), slot_at("0/5000"), "fs", std::nullopt).action ==
        epoch_action::keep);

  // The other findings keep their own reasons; a reset under way is finished, not judged.
  auto missing = decide_epoch(stored_at("0/5000"), std::nullopt, "fs", *lsn::parse("0/5800"));
  CHECK(missing.reason.find("does not exist any more") != std::string::npos);
  auto marked = stored_at("0/5000", std::string(epoch_reset_marker));
  CHECK(decide_epoch(marked, slot_at("0/9000"), "fs", *lsn::parse("0/5800")).action ==
        epoch_action::finish_reset);
  // After the new epoch the log starts past the switch point: kept from then on.
  CHECK(decide_epoch(stored_at("0/6000"), slot_at("0/6000"), "fs", *lsn::parse("0/5800")).action ==
        epoch_action::keep);
}

TEST_CASE("timeline history: the switch point of the last promotion", "[storage][epoch]") {
  CHECK(timeline_history_end("1\t0/3000060\tno recovery target specified\n") ==
        lsn::parse("0/3000060"));
  CHECK(timeline_history_end("1\t0/3000060\tno recovery target specified\n\n"
                             "2\t1/A2B3C4D8\tat restore point \"x\"\n") ==
        lsn::parse("1/A2B3C4D8"));
  CHECK(timeline_history_end("# a comment\n1\t0/5000000\n") == lsn::parse("0/5000000"));
  CHECK_FALSE(timeline_history_end(""));
  CHECK_FALSE(timeline_history_end("garbage\n1 0/5\n"));
}
