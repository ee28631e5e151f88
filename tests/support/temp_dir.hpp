#pragma once

#include <filesystem>
#include <string>

namespace fieldsync::test {

// A fresh directory under /tmp, removed with its contents on destruction.
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "fieldsync-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// Writes `text` to `path` (replacing it).
void write_file(const std::filesystem::path& path, const std::string& text);

}  // namespace fieldsync::test
