// bench: a real `peerchat --json` child process with pipes on stdin and stdout, as a script
// drives it (cli_bench.cpp, transfer_run.cpp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace peerchat::bench {

// `peerchat --json --name NAME --port 0 --data-dir DIR EXTRA...` (a later `--port` in EXTRA
// wins). The destructor stops it with SIGTERM, then SIGKILL, and reaps it.
class CliPeer {
 public:
  CliPeer(const std::string& binary, const std::filesystem::path& data_dir, const std::string& name,
          const std::vector<std::string>& extra);
  ~CliPeer();
  CliPeer(const CliPeer&) = delete;
  CliPeer& operator=(const CliPeer&) = delete;

  bool started() const { return pid_ > 0 && in_ >= 0 && out_ >= 0; }
  pid_t pid() const { return pid_; }
  int in() const { return in_; }
  int out() const { return out_; }

  // Reads stdout until a line for which `match` is true; false on timeout or EOF.
  bool wait_line(const std::function<bool(const std::string&)>& match,
                 std::chrono::milliseconds timeout);
  // Lines already read past a wait_line match, for the caller to go on from.
  std::string take_pending();
  // One read of what stdout has (call when poll says it is readable), each whole line passed to
  // `on_line`, lines read earlier by wait_line first; false once stdout has ended.
  bool read_lines(const std::function<void(const std::string&)>& on_line);
  // Writes `line` and a newline to stdin, whole; false if the peer is gone.
  bool write_line(const std::string& line);
  // SIGKILL, as a crash would be, and reaps it; the destructor then has nothing left to stop.
  void kill_now();

 private:
  bool reaped(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  std::string pending_;
};

// "{\"event\":\"NAME\"" at the start: the JSON sink writes "event" first, a cheap test, as a
// script would use.
bool is_event(const std::string& line, const char* name);

}  // namespace peerchat::bench
