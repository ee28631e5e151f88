#pragma once
// Running a helper program (initdb, pg_ctl, pg_config) to completion, optionally as another
// system user.
//
// Concurrency contract: start-up code only. Every call blocks in fork/read/waitpid; never
// call it on the reactor. Calls from several threads are safe (nothing shared), but the
// privilege switch happens in the forked child only, never in this process.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fieldsync::storage {

// A system account to run children as. The supplementary groups are looked up before the
// fork because initgroups() reads /etc/group and is not async-signal-safe in the child.
struct system_user {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

// nullopt when the account does not exist.
std::optional<system_user> find_system_user(const std::string& name);

struct subprocess_result {
  int exit_code = -1;  // 128 + signal number when the child was killed
  std::string output;  // the child's stdout and stderr interleaved, the last 16 KiB of it
};

// Runs argv[0] (looked up in PATH when it has no slash) with stdin from /dev/null and
// stdout/stderr captured, as `as_user` when given (needs root), in the directory "/" so
// an unreadable working directory of ours never bothers the child. Throws
// std::system_error only when the child cannot be created; a program that cannot be
// executed shows up as exit code 127 with the reason in `output`.
subprocess_result run_subprocess(const std::vector<std::string>& argv,
                                 const system_user* as_user = nullptr);

// The first directory on the way to `path` (itself included) that `user` may not search,
// checked by access(X_OK) in a child that has switched to that user; nullopt if every
// component is searchable.
std::optional<std::filesystem::path> first_unsearchable_dir(const system_user& user,
                                                            const std::filesystem::path& path);

// The last `max_lines` non-empty lines of `text`, joined with " | ": a child's output or a
// log tail fitted into a one-line error message.
std::string last_lines(std::string_view text, std::size_t max_lines);

}  // namespace fieldsync::storage
