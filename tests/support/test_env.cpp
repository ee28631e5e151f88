#include "tests/support/test_env.hpp"

namespace fieldsync::test {

std::filesystem::path fieldsync_binary() { return FIELDSYNC_BINARY; }
std::filesystem::path source_dir() { return FIELDSYNC_SOURCE_DIR; }

}  // namespace fieldsync::test
