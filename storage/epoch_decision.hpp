#pragma once
// Whether the stored change log continues with the replication slot, and if not, why: the
// decision every ingest session takes before it streams (docs/changelog.md, "Epochs").
// Pure: the stored state and the slot as they were read, in; the decision, out.
//
// It must be idempotent across a failed attempt: a reset drops the old slot and creates a
// new one (on the source database) before it empties the log (on the storage database),
// and fails in between are possible (a PostgreSQL restart, a process killed). The new
// slot, confirmed at its consistent point, then looks exactly like the slot of a log
// restored from a backup (confirmed past the stored resume position); deciding again would
// lose history a second time and log a wrong cause. So the reset is recorded in the state
// first (epoch_reset_marker), and a state carrying that record is finished, not judged.

#include "storage/log_state.hpp"
#include "storage/replication_slot.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace fieldsync::storage {

enum class epoch_action {
  keep,          // the log continues from the slot
  first_start,   // no log yet and no slot: create the slot, start the first epoch
  replace_slot,  // no log yet, but a slot of that name exists: replace it, then as first_start
  new_epoch,     // history lost: record the reset, replace the slot, start a new epoch
  finish_reset,  // a reset recorded earlier did not finish: replace the slot, start the epoch
};

struct epoch_decision {
  epoch_action action = epoch_action::keep;
  std::string reason;  // why history is lost (or the slot replaced); empty for keep, first_start
};

// `timeline_start`: where the source database's current timeline began (the switch point
// of its last promotion, from TIMELINE_HISTORY); nullopt on timeline 1 or when unknown.
// A log whose resume position lies before it was written on an earlier timeline: the
// server was promoted since, and a slot it has (carried over by a failover-slot tool) does
// not continue what clients were sent from the old primary.
epoch_decision decide_epoch(const std::optional<log_state>& stored,
                            const std::optional<slot_state>& slot, std::string_view configured_slot,
                            std::optional<protocol::lsn> timeline_start = std::nullopt);

}  // namespace fieldsync::storage
