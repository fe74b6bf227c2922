// store: peerchat's durable state in SQLite: known peers, address pins (trust on first use),
// settings, and messages in both directions (the outbox is the undelivered outgoing ones). One
// Store per process, used from one thread at a time (not thread-safe), and the only writer of
// its database: it keeps each conversation's counters in memory.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/message_rows.hpp"
#include "store/sqlite.hpp"
#include "store/transfers.hpp"
#include "util/result.hpp"
#include "wire/messages.hpp"

namespace peerchat::store {

using PeerKey = std::array<std::uint8_t, 32>;

struct PeerRecord {
  PeerKey id{};
  std::string name;
  std::int64_t first_seen_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::string last_address;
};

// An address a peer was reached at (`source` "dialed": we dialed it; "announced": its IP as
// seen by us with the listen port from its HELLO).
struct PeerAddress {
  std::string address;
  std::string source;
  std::int64_t last_success_ms = 0;
};

// Trust on first use: the identity first met at an address the user dialed.
struct AddressPin {
  std::string address;
  PeerKey id{};
};

using MessageKey = std::array<std::uint8_t, 16>;

enum class MessageState : int { queued = 0, delivered = 2, received = 3 };

struct StoredMessage {
  PeerKey peer{};  // the other party: author of incoming, recipient of outgoing
  bool outgoing = false;
  MessageKey id{};
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;  // the author's clock
  std::int64_t stored_ms = 0;     // our clock, when it was committed here
  std::string text;
  MessageState state = MessageState::queued;
};

// A message to send, before it is committed.
struct OutgoingDraft {
  PeerKey to{};
  MessageKey id{};
  std::int64_t timestamp_ms = 0;
  std::string text;
};

// A message that arrived, before it is stored: the CHAT as decoded. Its author is not in it;
// store_incoming takes that from the authenticated connection's batch.
using IncomingMessage = wire::Chat;

// Optional hook that makes writes fail as if the disk were full (tests; see cli/startup.cpp).
class FaultInjector {
 public:
  virtual ~FaultInjector() = default;
  virtual bool disk_full() const = 0;
};

class Store {
 public:
  // Opens or creates the database, checks it (quick_check) and migrates its schema.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& file);

  Result<std::optional<PeerRecord>> find_peer(const PeerKey& id);
  Result<std::vector<PeerRecord>> find_peers_by_name(std::string_view name);
  Result<std::vector<PeerRecord>> list_peers();
  // Inserts, or updates name, last_seen and last_address keeping first_seen (and keeping
  // last_address when the new one is empty).
  Result<void> remember_peer(const PeerRecord& peer);

  // Records that `peer` was reached at (or announced) `address` now.
  Result<void> remember_address(const PeerKey& peer, std::string_view address,
                                std::string_view source, std::int64_t now_ms);
  // Its addresses, the most recently successful first.
  Result<std::vector<PeerAddress>> peer_addresses(const PeerKey& peer, std::size_t limit = 16);

  Result<std::optional<PeerKey>> pinned_identity(std::string_view address);
  // Pins an unpinned address; refuses to replace a different pin (use unpin_address first,
  // only on an explicit user decision).
  Result<void> pin_address(std::string_view address, const PeerKey& id, std::int64_t now_ms);
  Result<void> unpin_address(std::string_view address);
  // Every pin, for the node's in-memory copy (read at start-up).
  Result<std::vector<AddressPin>> address_pins();

  Result<std::optional<std::string>> setting(std::string_view key);
  Result<void> set_setting(std::string_view key, std::string_view value);

  // Commits outgoing messages to the outbox in one transaction (group commit), each with the
  // next sequence number for its recipient (numbers are never reused, across restarts).
  // Returns them as stored, in the same order.
  Result<std::vector<StoredMessage>> queue_outgoing(const std::vector<OutgoingDraft>& drafts,
                                                    std::int64_t now_ms);
  Result<StoredMessage> queue_outgoing(const PeerKey& to, const MessageKey& id,
                                       std::int64_t timestamp_ms, std::string_view text,
                                       std::int64_t now_ms);
  // Every undelivered outgoing message, per peer in sequence order.
  Result<std::vector<StoredMessage>> outbox();
  Result<std::size_t> outbox_size();
  // Marks outgoing messages to `peer` with seq <= `up_to` delivered (a cumulative ACK; one
  // for numbers not yet sent covers only those that were).
  Result<void> mark_delivered(const PeerKey& peer, std::uint64_t up_to);

  // Stores a batch from one author in one transaction (group commit). Returns, per message,
  // whether it was new; duplicates (seq at or below the last stored one, or a message ID the
  // author already used) are not stored.
  Result<std::vector<bool>> store_incoming(const PeerKey& from,
                                           std::span<const IncomingMessage> batch,
                                           std::int64_t now_ms);
  Result<std::uint64_t> last_received_seq(const PeerKey& from);

  // The last `limit` messages with `peer`, oldest first.
  Result<std::vector<StoredMessage>> history(const PeerKey& peer, std::size_t limit);

  // File transfers (store/transfers.hpp). save_transfer writes the record and its files in one
  // transaction (an insert, or a replacement of both).
  Result<void> save_transfer(const TransferRecord& record, const std::vector<TransferFile>& files);
  Result<void> set_transfer_state(const TransferKey& id, TransferState state,
                                  std::string_view message, std::int64_t now_ms);
  Result<void> set_transfer_placement(const TransferKey& id, std::string_view destination,
                                      std::string_view placement, std::int64_t now_ms);
  // Each file's bitmap (and saved path, if any), in one durable commit.
  Result<void> save_transfer_progress(const TransferKey& id, const std::vector<TransferFile>& files,
                                      std::int64_t now_ms);
  // Those not done, failed, cancelled or declined: what a restart resumes.
  Result<std::vector<TransferRecord>> unfinished_transfers();
  // One transfer, finished or not (none, or one record).
  Result<std::vector<TransferRecord>> transfer_record(const TransferKey& id);
  Result<std::vector<TransferFile>> transfer_files(const TransferKey& id);
  Result<void> forget_transfer(const TransferKey& id);

  void set_fault_injector(const FaultInjector* faults) { faults_ = faults; }

  Result<std::string> integrity_check();

  static constexpr int kSchemaVersion = 6;

 private:
  // A peer we exchange messages with: its `conversations` row, as committed.
  struct Conversation {
    std::int64_t key = 0;  // message_rows.peer_key
    std::uint64_t next_send_seq = 1;
    std::uint64_t delivered_seq = 0;
    std::uint64_t received_seq = 0;
  };
  // The conversations a write transaction changed; they replace the committed ones only once
  // it commits.
  using Pending = std::map<PeerKey, Conversation>;

  explicit Store(Database db) : db_(std::move(db)) {}
  Result<void> migrate(const std::filesystem::path& file);
  Result<void> prepare_statements();
  Result<void> load_conversations();
  Result<std::vector<PeerRecord>> read_peers(Statement& statement);
  Result<std::vector<StoredMessage>> read_messages(Statement& statement, const PeerKey& peer,
                                                   std::uint64_t delivered_seq);
  // `peer`'s conversation within the open transaction: a pending one, else a copy of the
  // committed one, else a new row.
  Result<Conversation*> conversation_for_write(Pending& pending, const PeerKey& peer);
  void apply(Pending& pending);
  // The local_id of the next row in conversation `key` (schema 5: key << 40 | arrival).
  std::int64_t next_local_id(std::int64_t key) { return (key << 40) | next_arrival_++; }
  Result<void> check_faults() const;

  Database db_;
  Statement find_peer_;
  Statement find_by_name_;
  Statement list_peers_;
  Statement upsert_peer_;
  Statement upsert_address_;
  Statement select_addresses_;
  Statement find_pin_;
  Statement insert_pin_;
  Statement delete_pin_;
  Statement get_setting_;
  Statement set_setting_;
  Statement load_conversations_;
  Statement insert_conversation_;
  Statement save_send_seq_;
  Statement save_received_seq_;
  Statement save_delivered_seq_;
  Statement find_received_id_;
  MessageRowWriter message_rows_;
  Statement select_outbox_;
  Statement count_outbox_;
  Statement select_history_;
  Statement last_arrival_;
  std::map<PeerKey, Conversation> conversations_;  // every row of `conversations`
  // The arrival number (local_id's low 40 bits) of the next message row, in any conversation.
  // Numbers a rolled-back write took are skipped, never reused.
  std::int64_t next_arrival_ = 1;
  const FaultInjector* faults_ = nullptr;
};

}  // namespace peerchat::store
