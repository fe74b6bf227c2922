// bench: shared pieces of peerchat-bench: figures, timing, temp dirs.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace peerchat::bench {

struct Figure {
  std::string name;
  double value = 0;
  std::string unit;
  std::string note;
};

struct Options {
  bool quick = false;
  int runs = 5;
};

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

double median(std::vector<double> values);

// Durable (SQLite on disk, synchronous=FULL) vs in-memory message throughput A->B.
std::vector<Figure> run_durable(const Options& options);
// Opening the last 100 messages of a conversation in a large store.
std::vector<Figure> run_history(const Options& options);

}  // namespace peerchat::bench
