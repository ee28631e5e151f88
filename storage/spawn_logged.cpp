#include "storage/spawn_logged.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

namespace fieldsync::storage {

void log_escaped_exception(const char* what, std::exception_ptr e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& ex) {
    if (ex.code() == boost::asio::error::operation_aborted) {
      spdlog::debug("{} cancelled", what);
    } else {
      spdlog::error("{} failed: {}", what, ex.what());
    }
  } catch (const std::exception& ex) {
    spdlog::error("{} failed: {}", what, ex.what());
  } catch (...) {
    spdlog::error("{} failed: an exception that is not a std::exception", what);
  }
}

}  // namespace fieldsync::storage
