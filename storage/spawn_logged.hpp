#pragma once
// The one way to start a coroutine that nobody awaits (a connection's session, a background
// loop, a subscription's start task). Its completion handler is where an exception that
// escaped the coroutine ends up: asio::detached drops it without a word, and a handler that
// rethrows takes the whole process down from io_context::run. Here it is logged at error
// level with what the coroutine was, and the rest of the server goes on. A cancellation
// (operation_aborted, as on shutdown) is not a failure and is logged at debug only.

#include <boost/asio/co_spawn.hpp>

#include <exception>
#include <utility>

namespace fieldsync::storage {

// `what` names the coroutine in the log ("accept loop", "log compactor").
void log_escaped_exception(const char* what, std::exception_ptr e) noexcept;

// `where` is an executor or an io_context, `task` an asio::awaitable<void> or a function
// returning one, as for asio::co_spawn.
template <class ExecutorOrContext, class Task>
void spawn_logged(ExecutorOrContext&& where, Task&& task, const char* what) {
  boost::asio::co_spawn(std::forward<ExecutorOrContext>(where), std::forward<Task>(task),
                        [what](std::exception_ptr e) {
                          if (e) log_escaped_exception(what, e);
                        });
}

}  // namespace fieldsync::storage
