// Part `transfer`: what file transfer costs so far (issue 11). The sender's manifest (walk,
// 1 MiB pieces, a SHA-256 of each piece and of each whole file) of one large file against
// `sha256sum` of the same file, warm cache, same run (target: no slower); and of 10,000 files
// of 4 KiB, where the per-file cost shows.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>

#include "bench.hpp"
#include "services/transfer/manifest_builder.hpp"

namespace peerchat::bench {
namespace {

using Clock = std::chrono::steady_clock;

void write_random(const std::filesystem::path& path, std::size_t size, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<std::uint64_t> block(1 << 17);  // 1 MiB
  std::ofstream out(path, std::ios::binary);
  for (std::size_t done = 0; done < size;) {
    for (auto& word : block) word = random();
    const std::size_t n = std::min(size - done, block.size() * sizeof(std::uint64_t));
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    done += n;
  }
}

// Seconds `sha256sum FILE` takes, or a negative number if it could not run.
double time_sha256sum(const std::filesystem::path& file) {
  const auto start = Clock::now();
  const pid_t child = ::fork();
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDOUT_FILENO);
    ::execlp("sha256sum", "sha256sum", file.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return -1;
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double time_manifest(const std::vector<std::filesystem::path>& paths) {
  const auto start = Clock::now();
  auto built = transfer::build_manifest(paths);
  if (!built) {
    fmt::print(stderr, "bench: manifest: {}\n", built.error().message);
    return -1;
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double best(std::vector<double> runs) {
  double out = -1;
  for (double run : runs) {
    if (run >= 0 && (out < 0 || run < out)) out = run;
  }
  return out;
}

}  // namespace

std::vector<Figure> run_transfer(const Options& options, const Baselines& /*baselines*/) {
  TempDir dir;
  const std::size_t size = options.quick ? (64u << 20) : (1u << 30);
  const auto file = dir.path() / "big";
  write_random(file, size, 1);
  const std::vector<std::filesystem::path> one{file};
  std::vector<double> sums;
  std::vector<double> manifests;
  for (int run = 0; run < std::max(2, options.runs); ++run) {  // the first also warms the cache
    sums.push_back(time_sha256sum(file));
    manifests.push_back(time_manifest(one));
  }
  const double sum = best(sums);
  const double manifest = best(manifests);

  const auto tree = dir.path() / "tree";
  const std::size_t files = options.quick ? 1'000 : 10'000;
  for (std::size_t i = 0; i < files; ++i) {
    const auto folder = tree / fmt::format("d{:03}", i / 100);
    std::filesystem::create_directories(folder);
    write_random(folder / fmt::format("f{:05}", i), 4096, i);
  }
  const std::vector<std::filesystem::path> many{tree};
  std::vector<double> small;
  for (int run = 0; run < std::max(2, options.runs); ++run) small.push_back(time_manifest(many));
  const double tree_s = best(small);

  const std::string mib = fmt::format("{} MiB", size >> 20);
  return {
      {"transfer_manifest_s", manifest, "s",
       fmt::format("sender's manifest of one {} file (1 MiB pieces, piece and file SHA-256), warm "
                   "cache, best run",
                   mib)},
      {"transfer_sha256sum_s", sum, "s", fmt::format("sha256sum of the same file, best run")},
      {"transfer_manifest_vs_sha256sum", sum > 0 && manifest > 0 ? manifest / sum : 0, "ratio",
       "target <= 1"},
      {"transfer_manifest_small_files_s", tree_s, "s",
       fmt::format("manifest of {} files of 4 KiB in {} folders", files, files / 100)},
  };
}

}  // namespace peerchat::bench
