// cli: what every mode does first: pick the data dir, lock it, load identity and store.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cli/app.hpp"
#include "node/node.hpp"
#include "services/transfer/view.hpp"
#include "store/data_dir.hpp"
#include "store/store.hpp"
#include "tls/identity.hpp"
#include "util/outcome.hpp"

namespace spdlog {
class logger;
}

namespace peerchat::cli {

// PEERCHAT_FAULT_DISK_FULL=PATH: while PATH exists, store writes fail as if the disk were full
// (for tests of the disk-full path; a real full disk gives the same errors).
class FlagFileFaults final : public store::FaultInjector {
 public:
  explicit FlagFileFaults(std::filesystem::path flag) : flag_(std::move(flag)) {}
  bool disk_full() const override;

 private:
  std::filesystem::path flag_;
};

struct Profile {
  std::filesystem::path dir;
  std::optional<store::DataDirLock> lock;
  std::optional<tls::Identity> identity;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<FlagFileFaults> faults;
  std::string name;
};

// Logs go to stderr; the REPL keeps them to warnings so they do not drown the chat.
void setup_logging(bool verbose, bool quiet_info);

// While alive, log lines go to `print` instead of stderr: the REPL prints them above the input
// line, which a line written straight to the terminal would split (and its progress lines).
class LogsThrough {
 public:
  explicit LogsThrough(std::function<void(std::string)> print);
  ~LogsThrough();
  LogsThrough(const LogsThrough&) = delete;
  LogsThrough& operator=(const LogsThrough&) = delete;

 private:
  std::shared_ptr<spdlog::logger> previous_;
};

// Locks the data dir, loads or creates the identity, opens the store, settles the name.
// On failure `exit_code` says which documented exit code applies.
Result<Profile> open_profile(const CommonOptions& options, int* exit_code);

std::string fallback_name();

// The exit code of a one-shot command (send, send-file) whose dial failed with `code`:
// usage, unreachable or authentication; `otherwise` for any other code.
int dial_exit_code(Code code, int otherwise);
// A one-shot command's node: no listening, no redialing.
node::NodeConfig one_shot_config(const Profile& profile, const CommonOptions& options);

// $XDG_DOWNLOAD_DIR/peerchat, else ~/Downloads/peerchat.
std::filesystem::path default_download_dir();
// --download-dir and --accept-files-from as the transfer service takes them; a usage failure
// names an --accept-files-from value that is not a full peer ID.
Outcome<transfer::TransferConfig> transfer_config(const PeerOptions& options);

}  // namespace peerchat::cli
