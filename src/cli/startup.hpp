// cli: what every mode does first: pick the data dir, lock it, load identity and store.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/app.hpp"
#include "store/data_dir.hpp"
#include "store/store.hpp"
#include "tls/identity.hpp"

namespace peerchat::cli {

struct Profile {
  std::filesystem::path dir;
  std::optional<store::DataDirLock> lock;
  std::optional<tls::Identity> identity;
  std::unique_ptr<store::Store> store;
  std::string name;
};

// Logs go to stderr; the REPL keeps them to warnings so they do not drown the chat.
void setup_logging(bool verbose, bool quiet_info);

// Locks the data dir, loads or creates the identity, opens the store, settles the name.
// On failure `exit_code` says which documented exit code applies.
Result<Profile> open_profile(const CommonOptions& options, int* exit_code);

std::string fallback_name();

}  // namespace peerchat::cli
