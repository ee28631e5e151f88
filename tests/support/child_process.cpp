#include "tests/support/child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace fieldsync::test {

child_process::child_process(std::vector<std::string> argv,
                             std::map<std::string, std::string> env_overrides,
                             std::vector<std::string> env_removed) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto name = kv.substr(0, kv.find('='));
    if (env_overrides.contains(name)) continue;
    bool removed = false;
    for (const auto& r : env_removed) removed = removed || r == name;
    if (!removed) env_strings.push_back(std::move(kv));
  }
  for (const auto& [k, v] : env_overrides) env_strings.push_back(k + "=" + v);

  std::vector<char*> c_argv;
  for (auto& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  std::vector<char*> c_env;
  for (auto& e : env_strings) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // Its own process group, so a Ctrl-C at the test's terminal does not reach it twice.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  int rc = posix_spawn(&pid_, c_argv[0], &actions, &attr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  }
  name_ = argv[0];
  reader_ = std::thread([this, fd = fds[0]] { read_output(fd); });
}

child_process::~child_process() {
  if (!wait_exit(std::chrono::milliseconds(0))) {
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(30));
  }
  if (reader_.joinable()) reader_.join();
  keep_transcript();
}

// With FIELDSYNC_TEST_KEEP_LOGS=DIR, every child's transcript is written to
// DIR/NAME-PID.log when it is gone: the only record of what a node did in a flaky
// failure, whose test checks only what the clients saw.
void child_process::keep_transcript() const {
  const char* dir = std::getenv("FIELDSYNC_TEST_KEEP_LOGS");
  if (!dir || !*dir) return;
  const auto slash = name_.rfind('/');
  const auto path = std::string(dir) + "/" +
                    name_.substr(slash == std::string::npos ? 0 : slash + 1) + "-" +
                    std::to_string(pid_) + ".log";
  std::ofstream out(path);
  std::lock_guard lock(mutex_);
  for (const auto& line : lines_) out << line << '\n';
  if (!partial_.empty()) out << partial_ << '\n';
}

void child_process::read_output(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(mutex_);
    if (n <= 0) {
      if (!partial_.empty()) lines_.push_back(std::move(partial_));
      output_closed_ = true;
      changed_.notify_all();
      break;
    }
    partial_.append(buf, static_cast<std::size_t>(n));
    std::size_t pos;
    while ((pos = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, pos));
      partial_.erase(0, pos + 1);
    }
    changed_.notify_all();
  }
  ::close(fd);
}

std::optional<std::vector<std::string>> child_process::wait_for_line(
    const std::regex& re, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    for (; next_line_ < lines_.size(); ++next_line_) {
      std::smatch m;
      if (std::regex_search(lines_[next_line_], m, re)) {
        std::vector<std::string> groups(m.begin(), m.end());
        ++next_line_;
        return groups;
      }
    }
    if (output_closed_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout &&
        next_line_ == lines_.size()) {
      return std::nullopt;
    }
  }
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    // waitpid has no timeout; poll the output pipe's progress at a short interval instead.
    ::poll(nullptr, 0, 10);
  }
}

void child_process::signal(int signo) {
  if (!exit_code_) ::kill(pid_, signo);
}

std::string child_process::transcript() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& l : lines_) out += l + "\n";
  return out + partial_;
}

}  // namespace fieldsync::test
