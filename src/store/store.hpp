// store: peerchat's durable state in SQLite: known peers, address pins (trust on first use),
// settings and outgoing sequence numbers. One Store per process, used from the I/O thread
// only (not thread-safe).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite.hpp"
#include "util/result.hpp"

namespace peerchat::store {

using PeerKey = std::array<std::uint8_t, 32>;

struct PeerRecord {
  PeerKey id{};
  std::string name;
  std::int64_t first_seen_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::string last_address;
};

class Store {
 public:
  // Opens or creates the database, checks it (quick_check) and migrates its schema.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& file);

  Result<std::optional<PeerRecord>> find_peer(const PeerKey& id);
  Result<std::vector<PeerRecord>> find_peers_by_name(std::string_view name);
  Result<std::vector<PeerRecord>> list_peers();
  // Inserts, or updates name, last_seen and last_address keeping first_seen.
  Result<void> remember_peer(const PeerRecord& peer);

  Result<std::optional<PeerKey>> pinned_identity(std::string_view address);
  // Pins an unpinned address; refuses to replace a different pin (use unpin_address first,
  // only on an explicit user decision).
  Result<void> pin_address(std::string_view address, const PeerKey& id, std::int64_t now_ms);
  Result<void> unpin_address(std::string_view address);

  Result<std::optional<std::string>> setting(std::string_view key);
  Result<void> set_setting(std::string_view key, std::string_view value);

  // Reserves [first, first + count) of the sequence numbers for messages to `peer`; numbers
  // handed out are never handed out again, across restarts.
  Result<std::uint64_t> reserve_sequences(const PeerKey& peer, std::uint64_t count);

  Result<std::string> integrity_check();

  static constexpr int kSchemaVersion = 1;

 private:
  explicit Store(Database db) : db_(std::move(db)) {}
  Result<void> migrate(const std::filesystem::path& file);
  Result<void> prepare_statements();
  Result<std::vector<PeerRecord>> read_peers(Statement& statement);

  Database db_;
  Statement find_peer_;
  Statement find_by_name_;
  Statement list_peers_;
  Statement upsert_peer_;
  Statement find_pin_;
  Statement insert_pin_;
  Statement delete_pin_;
  Statement get_setting_;
  Statement set_setting_;
  Statement get_sequence_;
  Statement set_sequence_;
};

}  // namespace peerchat::store
