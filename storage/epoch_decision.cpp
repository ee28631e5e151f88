#include "storage/epoch_decision.hpp"

namespace fieldsync::storage {

epoch_decision decide_epoch(const std::optional<log_state>& stored,
                            const std::optional<slot_state>& slot, std::string_view configured_slot,
                            std::optional<protocol::lsn> timeline_start) {
  const std::string name(configured_slot);
  if (!stored) {
    if (slot) {
      return {epoch_action::replace_slot,
              "a slot named " + name + " exists but this change log is new"};
    }
    return {epoch_action::first_start, {}};
  }
  // Before anything about the slot: the slot a reset made is no evidence of anything.
  if (reset_pending(*stored)) {
    return {epoch_action::finish_reset,
            "an epoch reset begun earlier did not finish (history was lost then); finishing it"};
  }
  if (stored->slot != name) {
    return {epoch_action::new_epoch,
            "the configured slot changed from " + stored->slot + " to " + name};
  }
  if (!slot) {
    return {epoch_action::new_epoch, "replication slot " + name + " does not exist any more"};
  }
  if (slot->lost) {
    return {epoch_action::new_epoch, "replication slot " + name +
                                         " was invalidated: PostgreSQL removed WAL it still needed "
                                         "(max_slot_wal_keep_size)"};
  }
  if (timeline_start && stored->resume < *timeline_start) {
    return {epoch_action::new_epoch,
            "the source database was promoted: its timeline began at " +
                timeline_start->to_string() + ", after the change log's last position " +
                stored->resume.to_string() +
                " (what the old primary wrote after that is not in this database)"};
  }
  if (slot->confirmed_flush > stored->resume) {
    return {epoch_action::new_epoch, "the change log ends at " + stored->resume.to_string() +
                                         " but the slot was confirmed up to " +
                                         slot->confirmed_flush.to_string() +
                                         " (was the storage database restored from a backup?)"};
  }
  return {epoch_action::keep, {}};
}

}  // namespace fieldsync::storage
