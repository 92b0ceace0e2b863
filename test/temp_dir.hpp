// Test support: a fresh directory under the system temp dir, removed with
// everything in it when the test ends.
#ifndef LEASH_TEST_TEMP_DIR_HPP
#define LEASH_TEST_TEMP_DIR_HPP

#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace leash_test {

/// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  explicit TempDir(std::string const& prefix = "leash-test") {
    std::random_device rd;
    auto base = std::filesystem::temp_directory_path();
    do {
      path_ = base / (prefix + "-" + std::to_string(rd()) + std::to_string(rd()));
    } while (std::filesystem::exists(path_));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(TempDir const&) = delete;
  TempDir& operator=(TempDir const&) = delete;
  std::filesystem::path const& path() const noexcept { return path_; }
  std::filesystem::path operator/(std::string const& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace leash_test

#endif
