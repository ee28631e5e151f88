#include "storage/dev/subprocess.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <string>

using namespace fieldsync::storage;

TEST_CASE("a child inherits no descriptor but stdin, stdout and stderr", "[subprocess]") {
  // Opened without close-on-exec, as Asio opens its sockets: a daemon started by the child
  // (pg_ctl's postmaster) would otherwise keep it open for good.
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  const std::string probe = "for fd in 0 1 2 " + std::to_string(fds[0]) + " " +
                            std::to_string(fds[1]) +
                            "; do if [ -e /proc/$$/fd/$fd ]; then echo open $fd; fi; done";
  auto r = run_subprocess({"sh", "-c", probe});
  ::close(fds[0]);
  ::close(fds[1]);
  CHECK(r.exit_code == 0);
  CHECK(r.output == "open 0\nopen 1\nopen 2\n");
}

TEST_CASE("a child's output and exit code come back", "[subprocess]") {
  auto r = run_subprocess({"sh", "-c", "echo out; echo err >&2; exit 3"});
  CHECK(r.exit_code == 3);
  CHECK(r.output == "out\nerr\n");
  CHECK(run_subprocess({"/nonexistent/program"}).exit_code == 127);
}
