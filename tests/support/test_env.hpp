#pragma once
// Where the tests find the things the build made: the fieldsync binary and the sources.

#include <filesystem>

namespace fieldsync::test {

std::filesystem::path fieldsync_binary();
std::filesystem::path source_dir();

}  // namespace fieldsync::test
