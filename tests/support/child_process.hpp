#pragma once
// A child process for e2e tests: started with posix_spawn, stdout and stderr captured
// into one transcript that tests wait on line by line. Killed (SIGKILL) if still running
// when destroyed, so a failing test never leaves a server behind.

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace fieldsync::test {

class child_process {
 public:
  explicit child_process(std::vector<std::string> argv,
                         std::map<std::string, std::string> env_overrides = {},
                         std::vector<std::string> env_removed = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // The capture groups ([0] is the whole match) of the first output line matching `re`
  // (searched, not fully matched) after the previous match, waiting up to `timeout`;
  // nullopt if the process closed its output or the time ran out first.
  std::optional<std::vector<std::string>> wait_for_line(const std::regex& re,
                                                        std::chrono::milliseconds timeout);

  // Exit code (or 128 + signal number); nullopt if it did not exit in time.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  void signal(int signo);
  pid_t pid() const noexcept { return pid_; }
  std::string transcript() const;

 private:
  void read_output(int fd);
  void keep_transcript() const;

  pid_t pid_ = -1;
  std::string name_;  // the program, argv[0]
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  std::string partial_;
  bool output_closed_ = false;
  std::optional<int> exit_code_;
  std::size_t next_line_ = 0;  // wait_for_line searches from here
};

}  // namespace fieldsync::test
