// peerchat-bench: end-to-end figures with in-run baselines. `--quick` for CI, `--json` for
// machines.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bench.hpp"

namespace peerchat::bench {

TempDir::TempDir() {
  char pattern[] = "/tmp/peerchat-bench-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1))];
}

Child spawn_peerchat(const std::string& binary, const std::filesystem::path& data_dir) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 2);
    ::execl(binary.c_str(), binary.c_str(), "--json", "--name", "bench", "--port", "0",
            "--data-dir", data_dir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  return Child{pid, out[0]};
}

void add_tox_comparisons(std::vector<Figure>& figures) {
  auto find = [&](std::string_view name) -> const Figure* {
    for (const auto& figure : figures) {
      if (figure.name == name) return &figure;
    }
    return nullptr;
  };
  const Figure* tox_file = find("tox_file_MBps");
  const Figure* tox_connect = find("tox_connect_s");
  const Figure* bulk = find("bulk_throughput");
  const Figure* handshakes = find("handshake_rate");
  const Figure* tox_messages = find("tox_messages_per_s");
  const Figure* cli_one = find("cli_throughput_1_sender");
  const Figure* cli_four = find("cli_throughput_4_senders");
  const Figure* transfer = find("transfer_disk_to_disk_MBps");
  std::vector<Figure> more;
  if (transfer != nullptr && transfer->value > 0) {
    if (bulk != nullptr && bulk->value > 0) {
      more.push_back({"transfer_vs_bulk", transfer->value / bulk->value, "ratio",
                      "file disk to disk MB/s / one session stream's MB/s (bulk_throughput), "
                      "same run; target >= 0.5"});
    }
    if (tox_file != nullptr && tox_file->value > 0) {
      more.push_back({"transfer_vs_tox", transfer->value / tox_file->value, "ratio",
                      "file disk to disk MB/s / Tox file transfer MB/s, same run; target >= 30"});
    }
  }
  if (tox_file != nullptr && bulk != nullptr && tox_file->value > 0) {
    more.push_back({"bulk_vs_tox", bulk->value / tox_file->value, "ratio",
                    "peerchat stream MB/s / Tox file transfer MB/s, same run"});
  }
  if (tox_connect != nullptr && handshakes != nullptr && handshakes->value > 0 &&
      tox_connect->value > 0) {
    more.push_back({"connect_speedup_vs_tox", tox_connect->value * handshakes->value, "ratio",
                    "Tox time to connect two local peers / peerchat time per new session"});
  }
  if (tox_messages != nullptr && tox_messages->value > 0) {
    if (cli_one != nullptr && cli_one->value > 0) {
      more.push_back({"cli_vs_tox_messages", cli_one->value / tox_messages->value, "ratio",
                      "peerchat CLI to CLI msg/s, one sender (durable stores) / Tox messages, "
                      "best run"});
    }
    if (cli_four != nullptr && cli_four->value > 0) {
      more.push_back({"cli_4_senders_vs_tox_messages", cli_four->value / tox_messages->value,
                      "ratio",
                      "peerchat CLI msg/s, four senders into one / Tox messages, best run"});
    }
  }
  figures.insert(figures.end(), more.begin(), more.end());
}

}  // namespace peerchat::bench

int main(int argc, char** argv) {
  using namespace peerchat::bench;
  Options options;
  bool json = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      options.quick = true;
      options.runs = 1;
    } else if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (std::strcmp(argv[i], "--peerchat") == 0 && i + 1 < argc) {
      options.peerchat_binary = argv[++i];
    } else if (std::strcmp(argv[i], "--idle-peers") == 0 && i + 1 < argc) {
      options.idle_peers = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--cli-messages") == 0 && i + 1 < argc) {
      options.cli_messages = static_cast<std::size_t>(std::max(1, std::atoi(argv[++i])));
    } else if (std::strcmp(argv[i], "--tox") == 0) {
      // Off by default: toxcore binds its UDP sockets to 0.0.0.0 (it cannot bind to loopback),
      // so it is not part of the CTest run; it only ever sends to 127.0.0.1.
      options.tox = true;
    } else if (std::strcmp(argv[i], "--no-baselines") == 0) {
      options.baselines = false;  // for profiling one part; ratios are then meaningless
    } else if (std::strcmp(argv[i], "--part") == 0 && i + 1 < argc) {
      options.part = argv[++i];
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      options.runs = std::max(1, std::atoi(argv[++i]));
    } else {
      std::cerr << "usage: peerchat-bench [--quick] [--json] [--runs N] [--peerchat PATH]\n"
                   "                      [--idle-peers N] [--cli-messages N] [--only PART,...]\n"
                   "                      (parts: session, messages, history, startup, idle, cli, "
                   "store, transfer, tox)\n"
                   "                      [--tox] [--no-baselines] [--part NAME]\n";
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  const Baselines baselines = options.baselines ? measure_baselines(options) : Baselines{};
  std::vector<Figure> figures =
      options.baselines ? baseline_figures(baselines) : std::vector<Figure>{};
  const std::pair<const char*, std::vector<Figure> (*)(const Options&, const Baselines&)> parts[] =
      {{"session", run_session}, {"messages", run_messages}, {"history", run_history},
       {"store", run_store},     {"startup", run_startup},
#ifdef PEERCHAT_HAVE_TOX
       {"tox", run_tox},
#endif
       {"idle", run_idle},       {"cli", run_cli},           {"transfer", run_transfer}};
  // --only takes a comma-separated list, so that ratios across parts come from one run.
  const auto listed = [&](std::string_view name) {
    return ("," + only + ",").find(fmt::format(",{},", name)) != std::string::npos;
  };
  for (const auto& [name, part] : parts) {
    if (!only.empty() && !listed(name)) continue;
    if (std::string_view(name) == "tox" && !options.tox && !listed("tox")) continue;
    auto more = part(options, baselines);
    figures.insert(figures.end(), more.begin(), more.end());
  }
  add_tox_comparisons(figures);
  if (json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& figure : figures) {
      out[figure.name] = {{"value", figure.value}, {"unit", figure.unit}, {"note", figure.note}};
    }
    std::cout << out.dump(2) << '\n';
  } else {
    std::cout << fmt::format("{:<34} {:>14}  {:<10} {}\n", "figure", "value", "unit", "note");
    for (const auto& figure : figures) {
      std::cout << fmt::format("{:<34} {:>14.3f}  {:<10} {}\n", figure.name, figure.value,
                               figure.unit, figure.note);
    }
  }
  return 0;
}
