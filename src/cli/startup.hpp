// cli: what every mode does first: pick the data dir, lock it, load identity and store.
#pragma once

#include <filesystem>
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
