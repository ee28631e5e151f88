#include "storage/dev/subprocess.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace fieldsync::storage {

namespace {

constexpr std::size_t output_limit = 16 * 1024;

class unique_fd {
 public:
  explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Between fork and exec only async-signal-safe calls are allowed (the parent may have
// other threads holding malloc or stdio locks), so the child reports with write(2) and
// formats numbers by hand.
void child_write(std::string_view s) noexcept {
  while (!s.empty()) {
    ssize_t n = ::write(STDERR_FILENO, s.data(), s.size());
    if (n <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Closes every descriptor above stderr in the child. Not every descriptor of the process
// is close-on-exec (Asio opens its sockets without it), and pg_ctl's postmaster lives on
// as a daemon: a socket it inherited would stay open for as long as PostgreSQL runs, so
// a client connection that was open at the moment of a `pg_ctl start` or `restart` would
// never see its peer leave. `max_fd` is taken before fork for the fallback without
// close_range(2).
void child_close_inherited(int max_fd) noexcept {
  if (::close_range(3, ~0U, 0) == 0) return;
  for (int fd = 3; fd < max_fd; ++fd) ::close(fd);
}

[[noreturn]] void child_fail(const char* what, const char* subject, int err) noexcept {
  char digits[16];
  std::size_t n = 0;
  unsigned v = static_cast<unsigned>(err);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < sizeof digits);
  child_write(what);
  child_write(subject);
  child_write(err == ENOENT ? ": no such file (errno " : err == EACCES ? ": permission denied (errno " : " (errno ");
  while (n > 0) child_write(std::string_view(&digits[--n], 1));
  child_write(")\n");
  ::_exit(127);
}

void child_switch_user(const system_user& u) noexcept {
  // Groups first: after setuid we would no longer be allowed to change them.
  if (::setgroups(u.groups.size(), u.groups.data()) != 0) child_fail("setgroups for ", u.name.c_str(), errno);
  if (::setgid(u.gid) != 0) child_fail("setgid for ", u.name.c_str(), errno);
  if (::setuid(u.uid) != 0) child_fail("setuid to ", u.name.c_str(), errno);
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::optional<system_user> find_system_user(const std::string& name) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) return std::nullopt;
  system_user u;
  u.name = name;
  u.uid = pw.pw_uid;
  u.gid = pw.pw_gid;
  int count = 32;
  u.groups.resize(static_cast<std::size_t>(count));
  while (::getgrouplist(name.c_str(), u.gid, u.groups.data(), &count) < 0) {
    u.groups.resize(static_cast<std::size_t>(count) + 32);
    count = static_cast<int>(u.groups.size());
  }
  u.groups.resize(static_cast<std::size_t>(count));
  return u;
}

subprocess_result run_subprocess(const std::vector<std::string>& argv, const system_user* as_user) {
  if (argv.empty()) throw std::invalid_argument("run_subprocess: empty argv");
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const bool search_path = argv[0].find('/') == std::string::npos;

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  unique_fd read_end(pipe_fds[0]);
  unique_fd write_end(pipe_fds[1]);
  unique_fd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (dev_null.get() < 0) throw std::system_error(errno, std::generic_category(), "open /dev/null");

  const int max_fd = static_cast<int>(::sysconf(_SC_OPEN_MAX));
  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork " + argv[0]);
  if (pid == 0) {
    // dup2 clears O_CLOEXEC on the copies; everything else goes, so exactly
    // stdin/stdout/stderr survive exec.
    if (::dup2(dev_null.get(), STDIN_FILENO) < 0 || ::dup2(write_end.get(), STDOUT_FILENO) < 0 ||
        ::dup2(write_end.get(), STDERR_FILENO) < 0) {
      ::_exit(127);
    }
    child_close_inherited(max_fd);
    if (as_user) child_switch_user(*as_user);
    if (::chdir("/") != 0) child_fail("chdir ", "/", errno);
    if (search_path) {
      ::execvp(args[0], args.data());
    } else {
      ::execv(args[0], args.data());
    }
    child_fail("cannot execute ", args[0], errno);
  }
  write_end.reset();

  subprocess_result result;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<std::size_t>(n));
    if (result.output.size() > 2 * output_limit) {
      result.output.erase(0, result.output.size() - output_limit);
    }
  }
  if (result.output.size() > output_limit) result.output.erase(0, result.output.size() - output_limit);
  result.exit_code = wait_for(pid);
  return result;
}

std::optional<std::filesystem::path> first_unsearchable_dir(const system_user& user,
                                                            const std::filesystem::path& path) {
  // Every prefix of the path, root first; the child's exit code is the index of the first
  // one it cannot search, plus one.
  std::vector<std::filesystem::path> prefixes;
  std::filesystem::path prefix;
  for (const auto& part : path) {
    prefix /= part;
    prefixes.push_back(prefix);
  }
  // Exit codes above the prefix count are the child's own failures (127).
  if (prefixes.size() > 120) prefixes.resize(120);
  std::vector<std::string> texts;
  texts.reserve(prefixes.size());
  for (const auto& p : prefixes) texts.push_back(p.string());

  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    child_switch_user(user);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      if (::access(texts[i].c_str(), X_OK) != 0) ::_exit(static_cast<int>(i + 1));
    }
    ::_exit(0);
  }
  int code = wait_for(pid);
  if (code == 0) return std::nullopt;
  if (code >= 1 && static_cast<std::size_t>(code) <= prefixes.size()) {
    return prefixes[static_cast<std::size_t>(code) - 1];
  }
  return path;  // the child could not even switch user: treat the whole path as unreachable
}

std::string last_lines(std::string_view text, std::size_t max_lines) {
  std::vector<std::string_view> lines;
  while (!text.empty() && lines.size() < max_lines) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
      text.remove_suffix(1);
    }
    if (text.empty()) break;
    auto nl = text.find_last_of('\n');
    std::string_view line = nl == std::string_view::npos ? text : text.substr(nl + 1);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(0, nl);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (!line.empty()) lines.push_back(line);
  }
  std::string out;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (!out.empty()) out += " | ";
    out += *it;
  }
  return out;
}

}  // namespace fieldsync::storage
