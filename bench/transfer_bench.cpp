// Part `transfer`: what file transfer costs (issue 11), each against a baseline of the same run.
// The sender's manifest (walk, 1 MiB pieces, a SHA-256 of each piece and of each whole file) of
// one large file against `sha256sum` of it, warm cache, and of 10,000 files of 4 KiB, where the
// per-file cost shows. With --peerchat, two real processes (transfer_run.cpp): the large file
// disk to disk (MB/s, set against the session's stream and Tox in peerchat_bench.cpp), its offer
// against sha256sum, the receiver's RSS, chat latency during a transfer, the small files
// against cp -r + sync, and the pieces re-sent after a kill -9 of the sender halfway.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include "bench.hpp"
#include "services/transfer/manifest_builder.hpp"
#include "transfer_run.hpp"

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

// Seconds `argv` takes to exit 0 (stdout discarded), or a negative number if it failed.
double time_command(std::vector<std::string> argv) {
  const auto start = Clock::now();
  const pid_t child = ::fork();
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDOUT_FILENO);
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return -1;
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double time_sha256sum(const std::filesystem::path& file) {
  return time_command({"sha256sum", file.string()});
}

// The hex SHA-256 of `file` as sha256sum prints it: the independent check of what arrived.
std::string sha256sum_of(const std::filesystem::path& file) {
  FILE* pipe = ::popen(fmt::format("sha256sum '{}'", file.string()).c_str(), "r");
  if (pipe == nullptr) return {};
  char digest[65] = {};
  const bool read = std::fscanf(pipe, "%64s", digest) == 1;
  ::pclose(pipe);
  return read ? digest : "";
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

Figure missing(std::string name, std::string unit, const std::string& why) {
  return {std::move(name), -1, std::move(unit), "missing: " + why};
}

// Why the transfer of one file did not arrive intact, or empty: it failed, or what arrived is
// not what `sha256sum` says the source is.
std::string check_file(const TransferOutcome& outcome, const std::string& digest) {
  if (!outcome.failure.empty()) return outcome.failure;
  if (digest.empty()) return "sha256sum of the source failed";
  if (outcome.sha256.size() != 1 || outcome.sha256[0] != digest) {
    return "the receiver's SHA-256 is not the source's";
  }
  std::error_code error;
  if (outcome.saved.size() != 1 ||
      std::filesystem::file_size(outcome.saved[0], error) != outcome.total_bytes) {
    return "the saved file is missing or of the wrong size";
  }
  return {};
}

// Bytes the receiver got beyond the transfer's size: pieces sent again.
std::int64_t over(const TransferOutcome& outcome) {
  return static_cast<std::int64_t>(outcome.wire_bytes) -
         static_cast<std::int64_t>(outcome.total_bytes);
}

// Two peerchat processes, one pair for every transfer: one file disk to disk (with its offer,
// the receiver's memory), again with chat meanwhile, a tree of small files against cp -r, and
// a sender killed halfway and restarted.
std::vector<Figure> end_to_end(const Options& options, const std::filesystem::path& dir,
                               const std::filesystem::path& file, const std::filesystem::path& tree,
                               std::size_t files, double sha256sum_s) {
  ::signal(SIGPIPE, SIG_IGN);  // a peer that died must be an error on write, not our end
  const std::string mib = fmt::format("{} MiB", std::filesystem::file_size(file) >> 20);
  TransferPair pair(options.peerchat_binary, dir / "peers");
  if (const auto why = pair.start(); !why.empty()) {
    std::vector<Figure> figures;
    for (const auto& [name, unit] : {std::pair{"transfer_offer_s", "s"},
                                     {"transfer_disk_to_disk_MBps", "MB/s"},
                                     {"transfer_receiver_rss_MiB", "MiB"},
                                     {"transfer_chat_p99_ms", "ms"},
                                     {"transfer_small_files_s", "s"},
                                     {"transfer_resume_pieces_resent", "pieces"}}) {
      figures.push_back(missing(name, unit, why));
    }
    return figures;
  }
  const std::string digest = sha256sum_of(file);
  std::vector<Figure> figures;

  // One file: sendfile to offered, accept to done, the receiver's RSS meanwhile.
  const auto clean = pair.run({{file}, dir / "in-clean"});
  double move_s = 0;
  if (const auto why = check_file(clean, digest); !why.empty()) {
    figures.push_back(missing("transfer_offer_s", "s", why));
    figures.push_back(missing("transfer_disk_to_disk_MBps", "MB/s", why));
    figures.push_back(missing("transfer_receiver_rss_MiB", "MiB", why));
  } else {
    move_s = clean.move_s;
    figures.push_back({"transfer_offer_s", clean.prepare_s, "s",
                       fmt::format("{} file: sender's sendfile to the receiver's transfer_offered "
                                   "(the manifest), warm cache; vs transfer_sha256sum_s",
                                   mib)});
    if (sha256sum_s > 0) {
      figures.push_back(
          {"transfer_offer_vs_sha256sum", clean.prepare_s / sha256sum_s, "ratio", "target <= 1"});
    }
    figures.push_back(
        {"transfer_disk_to_disk_MBps", static_cast<double>(clean.total_bytes) / 1e6 / move_s,
         "MB/s",
         fmt::format("{} file, two peerchat processes over loopback, receiver's accept to its "
                     "transfer_done (every piece and the file hashed and synced); wire_bytes "
                     "- total_bytes: {}, bad_pieces: {}",
                     mib, over(clean), clean.bad_pieces)});
    figures.push_back(
        {"transfer_receiver_rss_MiB",
         static_cast<double>(clean.max_rss_kib - std::min(clean.max_rss_kib, clean.idle_rss_kib)) /
             1024,
         "MiB",
         fmt::format("receiver's VmRSS during it (every 50 ms), max minus idle ({:.1f} MiB); "
                     "target <= 64",
                     static_cast<double>(clean.idle_rss_kib) / 1024)});
  }
  std::filesystem::remove_all(dir / "in-clean");

  // Chat and the crash need a transfer that lasts: with --quick, a 256 MiB file of its own.
  constexpr std::uintmax_t kLongEnough = 256u << 20;
  auto long_file = file;
  auto long_digest = digest;
  if (std::filesystem::file_size(file) < kLongEnough) {
    long_file = dir / "long";
    write_random(long_file, kLongEnough, 2);
    long_digest = sha256sum_of(long_file);
  }
  const std::string long_mib = fmt::format("{} MiB", std::filesystem::file_size(long_file) >> 20);
  const double long_s = move_s * static_cast<double>(std::filesystem::file_size(long_file)) /
                        static_cast<double>(std::filesystem::file_size(file));

  // Chat during a transfer: sends spread over most of its expected time, at most 10 ms apart.
  constexpr std::size_t kChats = 200;
  TransferPlan chatty{{long_file}, dir / "in-chat"};
  chatty.chats = kChats;
  chatty.chat_spacing = std::chrono::microseconds(
      long_s > 0 ? std::clamp<std::int64_t>(static_cast<std::int64_t>(long_s * 0.8e6 / kChats),
                                            1'000, 10'000)
                 : 10'000);
  const auto chat = pair.run(chatty);
  if (const auto why = check_file(chat, long_digest); !why.empty()) {
    figures.push_back(missing("transfer_chat_p99_ms", "ms", why));
  } else if (chat.chat_ms.size() < 100) {
    figures.push_back(missing("transfer_chat_p99_ms", "ms",
                              fmt::format("only {} chats were sent and delivered during the "
                                          "transfer; too few for a p99",
                                          chat.chat_ms.size())));
  } else {
    const auto note = fmt::format(
        "send to delivered, {} chats {} ms apart during a {} transfer on the same pair; target "
        "<= 50",
        chat.chat_ms.size(), std::chrono::duration<double, std::milli>(chatty.chat_spacing).count(),
        long_mib);
    figures.push_back({"transfer_chat_p99_ms", percentile(chat.chat_ms, 0.99), "ms", note});
    figures.push_back({"transfer_chat_p50_ms", percentile(chat.chat_ms, 0.50), "ms", "the same"});
  }
  std::filesystem::remove_all(dir / "in-chat");

  // Small files, against cp -r of the same tree and a sync; earlier writes synced first.
  // sync is of the whole machine, so the best of three. Each copy is a new tree, all removed
  // after the transfer's own run: reusing just-freed page cache would flatter cp.
  std::vector<double> copies;
  for (int run = 0; run < 3; ++run) {
    time_command({"sync"});
    const auto copy = dir / fmt::format("cp-copy{}", run);
    const double cp_s = time_command({"cp", "-r", tree.string(), copy.string()});
    const double sync_s = time_command({"sync"});
    copies.push_back(cp_s < 0 || sync_s < 0 ? -1 : cp_s + sync_s);
  }
  const double baseline = best(copies);
  time_command({"sync"});
  const auto small = pair.run({{tree}, dir / "in-small"});
  std::string why = small.failure;
  if (why.empty() && small.sha256.size() != files) {
    why = fmt::format("{} of {} files reported done", small.sha256.size(), files);
  }
  if (why.empty() && time_command({"diff", "-rq", tree.string(),
                                   (dir / "in-small" / tree.filename()).string()}) < 0) {
    why = "the received tree differs from the source (diff -rq)";
  }
  if (why.empty() && baseline < 0) why = "cp -r or sync failed";
  if (!why.empty()) {
    figures.push_back(missing("transfer_small_files_s", "s", why));
  } else {
    figures.push_back(
        {"transfer_small_files_s", small.move_s, "s",
         fmt::format("{} files of 4 KiB in one offer, accept to transfer_done", files)});
    figures.push_back({"transfer_small_files_cp_sync_s", baseline, "s",
                       "cp -r of the same tree, then sync, best of 3"});
    figures.push_back(
        {"transfer_small_files_vs_cp", small.move_s / baseline, "ratio", "target <= 3"});
  }
  std::filesystem::remove_all(dir / "in-small");
  // Only now: 30,000 inodes deleted just before the transfer would slow its own allocation
  // (ext4 skips recently deleted inodes), which cp did not meet.
  for (int run = 0; run < 3; ++run) {
    std::filesystem::remove_all(dir / fmt::format("cp-copy{}", run));
  }

  // kill -9 of the sender once half is verified; restarted on its data dir and port.
  TransferPlan crash{{long_file}, dir / "in-resume"};
  crash.kill_sender_at_half = true;
  const auto resumed = pair.run(crash);
  if (const auto problem = check_file(resumed, long_digest); !problem.empty()) {
    figures.push_back(missing("transfer_resume_pieces_resent", "pieces", problem));
  } else {
    figures.push_back(
        {"transfer_resume_pieces_resent", static_cast<double>(over(resumed)) / (1 << 20), "pieces",
         fmt::format("(receiver's wire_bytes - total_bytes) / 1 MiB, {} file, sender killed "
                     "(-9) at {:.0f}% and restarted; one stream open; target <= 2",
                     long_mib,
                     100.0 * static_cast<double>(resumed.killed_at_bytes) /
                         static_cast<double>(resumed.total_bytes))});
  }
  std::filesystem::remove_all(dir / "in-resume");
  return figures;
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
  // What the disk itself does: a plain copy of the same file, synced (dd conv=fdatasync). A
  // transfer writes every byte once and syncs it too, so this bounds it from above.
  // Each copy goes to a new file, removed only after both: writing into page cache that a
  // deleted copy just freed is several times faster on this VM (fresh guest pages are dear)
  // than what a transfer meets, which writes a new file.
  std::vector<double> copies;
  for (int run = 0; run < 2; ++run) {
    const auto copy = dir.path() / fmt::format("copy{}", run);
    copies.push_back(time_command({"dd", "if=" + file.string(), "of=" + copy.string(), "bs=1M",
                                   "conv=fdatasync", "status=none"}));
  }
  for (int run = 0; run < 2; ++run) {
    std::filesystem::remove(dir.path() / fmt::format("copy{}", run));
  }
  const double copy_s = best(copies);

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
  std::vector<Figure> figures = {
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
  figures.push_back({"transfer_disk_copy_MBps",
                     copy_s > 0 ? static_cast<double>(size) / 1e6 / copy_s : -1, "MB/s",
                     fmt::format("dd of the same {} file to a new one with conv=fdatasync, best of "
                                 "2: the disk's own ceiling for disk to disk",
                                 mib)});
  if (!options.peerchat_binary.empty()) {
    auto more = end_to_end(options, dir.path(), file, tree, files, sum);
    const auto moved = std::find_if(more.begin(), more.end(), [](const Figure& figure) {
      return figure.name == "transfer_disk_to_disk_MBps";
    });
    if (moved != more.end() && moved->value > 0 && copy_s > 0) {
      const double ratio = moved->value / (static_cast<double>(size) / 1e6 / copy_s);
      more.push_back(
          {"transfer_vs_disk_copy", ratio, "ratio", "transfer MB/s / dd copy MB/s, same run"});
    }
    figures.insert(figures.end(), more.begin(), more.end());
  }
  return figures;
}

}  // namespace peerchat::bench
