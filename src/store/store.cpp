#include "store/store.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "store/errors.hpp"
#include "store/schema.hpp"

namespace peerchat::store {
namespace {

// A conversation's rows are local_ids ?1 << 40 to ((?1 + 1) << 40) - 1 (schema 5): every
// query below is a range scan of the table itself.
#define PEERCHAT_RANGE_LOW "(?1 << 40)"
#define PEERCHAT_RANGE_HIGH "(((?1 + 1) << 40) - 1)"

// A conversation's undelivered messages: its outgoing rows past the watermark, from
// outbox_from on (in arrival order, which for outgoing rows is sequence order).
constexpr char kOutbox[] =
    "SELECT outgoing, message_id, seq, timestamp_ms, stored_ms, text FROM message_rows "
    "WHERE local_id >= max((SELECT outbox_from FROM conversations WHERE peer_key = "
    "?1), " PEERCHAT_RANGE_LOW ") AND local_id <= " PEERCHAT_RANGE_HIGH
    " AND outgoing = 1 AND seq > ?2 ORDER BY local_id";
constexpr char kCountOutbox[] =
    "SELECT count(*) FROM message_rows "
    "WHERE local_id >= max((SELECT outbox_from FROM conversations WHERE peer_key = "
    "?1), " PEERCHAT_RANGE_LOW ") AND local_id <= " PEERCHAT_RANGE_HIGH
    " AND outgoing = 1 AND seq > ?2";
// Newest `limit` first; the caller reverses.
constexpr char kHistory[] =
    "SELECT outgoing, message_id, seq, timestamp_ms, stored_ms, text FROM message_rows "
    "WHERE local_id BETWEEN " PEERCHAT_RANGE_LOW " AND " PEERCHAT_RANGE_HIGH
    " ORDER BY local_id DESC LIMIT ?2";
// Just past the conversation's last row.
#define PEERCHAT_PAST_LAST                                  \
  "(SELECT coalesce(max(local_id) + 1, " PEERCHAT_RANGE_LOW \
  ") FROM message_rows "                                    \
  "WHERE local_id BETWEEN " PEERCHAT_RANGE_LOW " AND " PEERCHAT_RANGE_HIGH ")"
// Moves the watermark to ?2 and outbox_from to the oldest row still undelivered, else past
// the last row. The search starts at the old outbox_from, so each row is passed over once.
constexpr char kSaveDeliveredSeq[] =
    "UPDATE conversations SET delivered_seq = ?2, outbox_from = CASE WHEN ?2 < next_send_seq - 1 "
    "THEN coalesce((SELECT local_id FROM message_rows WHERE local_id >= "
    "max(conversations.outbox_from, " PEERCHAT_RANGE_LOW ") AND local_id <= " PEERCHAT_RANGE_HIGH
    " AND outgoing = 1 AND seq > ?2 ORDER BY local_id LIMIT 1), " PEERCHAT_PAST_LAST
    ") ELSE " PEERCHAT_PAST_LAST " END WHERE peer_key = ?1";
// The highest arrival number in one conversation.
constexpr char kLastArrival[] =
    "SELECT max(local_id) & 0xFFFFFFFFFF FROM message_rows WHERE local_id "
    "BETWEEN " PEERCHAT_RANGE_LOW " AND " PEERCHAT_RANGE_HIGH;

#undef PEERCHAT_PAST_LAST
#undef PEERCHAT_RANGE_HIGH
#undef PEERCHAT_RANGE_LOW

PeerKey to_key(const std::vector<std::uint8_t>& bytes) {
  PeerKey key{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), key.size()), key.begin());
  return key;
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& file) {
  auto db = Database::open(file.string());
  if (!db) return db.error();
  std::unique_ptr<Store> store(new Store(std::move(db.value())));
  // quick_check first: a damaged database is reported, never served.
  auto check = store->db_.query_text("PRAGMA quick_check");
  if (!check || *check != "ok") {
    return make_error(Errc::corrupt,
                      fmt::format("database {} is damaged ({}); restore it from a backup or move "
                                  "it aside (peerchat then starts with no known peers or pins)",
                                  file.string(), check ? *check : check.error().message));
  }
  if (auto configured = configure_connection(store->db_, file.string()); !configured) {
    return configured.error();
  }
  if (auto migrated = store->migrate(file); !migrated) return migrated.error();
  if (auto prepared = store->prepare_statements(); !prepared) return prepared.error();
  if (auto loaded = store->load_conversations(); !loaded) return loaded.error();
  return store;
}

Result<void> Store::migrate(const std::filesystem::path& file) {
  auto version_text = db_.query_text("PRAGMA user_version");
  if (!version_text) return version_text.error();
  const int version = std::stoi(*version_text);
  if (version > kSchemaVersion) {
    return make_error(Errc::schema_too_new,
                      fmt::format("database {} has schema version {}, made by a newer peerchat "
                                  "(this one knows up to {}); upgrade peerchat",
                                  file.string(), version, kSchemaVersion));
  }
  const auto migrations = schema_migrations();
  for (int next = version; next < kSchemaVersion; ++next) {
    auto transaction = Transaction::begin(db_);
    if (!transaction) return transaction.error();
    if (auto applied =
            db_.exec(migrations[static_cast<std::size_t>(next)],
                     fmt::format("cannot migrate {} to schema {}", file.string(), next + 1));
        !applied) {
      return applied.error();
    }
    if (auto bumped = db_.exec(fmt::format("PRAGMA user_version={}", next + 1), "schema version");
        !bumped) {
      return bumped.error();
    }
    if (auto committed = transaction->commit(); !committed) return committed.error();
  }
  // A migration rewrites every message; without this the WAL would keep its size on disk.
  if (version < kSchemaVersion) return db_.exec("PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint");
  return {};
}

Result<void> Store::prepare_statements() {
  struct Entry {
    Statement* statement;
    std::string_view sql;
  };
  const Entry entries[] = {
      {&find_peer_,
       "SELECT peer_id, name, first_seen_ms, last_seen_ms, last_address FROM peers "
       "WHERE peer_id = ?1"},
      {&find_by_name_,
       "SELECT peer_id, name, first_seen_ms, last_seen_ms, last_address FROM peers "
       "WHERE name = ?1"},
      {&list_peers_,
       "SELECT peer_id, name, first_seen_ms, last_seen_ms, last_address FROM peers "
       "ORDER BY name"},
      {&upsert_peer_,
       "INSERT INTO peers (peer_id, name, first_seen_ms, last_seen_ms, last_address) "
       "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(peer_id) DO UPDATE SET name = excluded.name, "
       "last_seen_ms = excluded.last_seen_ms, last_address = CASE WHEN excluded.last_address != '' "
       "THEN excluded.last_address ELSE peers.last_address END"},
      {&upsert_address_,
       "INSERT INTO peer_addresses (peer_id, address, source, last_success_ms) "
       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(peer_id, address) DO UPDATE SET "
       "source = excluded.source, last_success_ms = excluded.last_success_ms"},
      {&select_addresses_,
       "SELECT address, source, last_success_ms FROM peer_addresses WHERE peer_id = ?1 "
       "ORDER BY last_success_ms DESC, address LIMIT ?2"},
      {&find_pin_, "SELECT peer_id FROM address_pins WHERE address = ?1"},
      {&insert_pin_, "INSERT INTO address_pins (address, peer_id, pinned_ms) VALUES (?1, ?2, ?3)"},
      {&delete_pin_, "DELETE FROM address_pins WHERE address = ?1"},
      {&get_setting_, "SELECT value FROM settings WHERE key = ?1"},
      {&set_setting_,
       "INSERT INTO settings (key, value) VALUES (?1, ?2) "
       "ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
      {&load_conversations_,
       "SELECT peer_key, peer_id, next_send_seq, delivered_seq, received_seq FROM conversations"},
      // outbox_from 0: at or below any row this conversation will have.
      {&insert_conversation_,
       "INSERT INTO conversations (peer_id, next_send_seq, delivered_seq, outbox_from, "
       "received_seq) VALUES (?1, 1, 0, 0, 0)"},
      {&save_send_seq_, "UPDATE conversations SET next_send_seq = ?2 WHERE peer_key = ?1"},
      {&save_received_seq_, "UPDATE conversations SET received_seq = ?2 WHERE peer_key = ?1"},
      {&save_delivered_seq_, std::string_view(kSaveDeliveredSeq)},
      {&find_received_id_,
       "SELECT seq FROM message_rows WHERE peer_key = ?1 AND message_id = ?2 AND outgoing = 0"},
      {&select_outbox_, std::string_view(kOutbox)},
      {&count_outbox_, std::string_view(kCountOutbox)},
      {&last_arrival_, std::string_view(kLastArrival)},
      {&select_history_, std::string_view(kHistory)},
  };
  for (const auto& entry : entries) {
    auto prepared = db_.prepare(entry.sql);
    if (!prepared) return prepared.error();
    *entry.statement = std::move(prepared.value());
  }
  return message_rows_.prepare(db_);
}

Result<std::vector<PeerRecord>> Store::read_peers(Statement& statement) {
  return statement.collect([](const Statement& row) {
    return PeerRecord{to_key(row.blob(0)), row.text(1), row.integer(2), row.integer(3),
                      row.text(4)};
  });
}

Result<std::optional<PeerRecord>> Store::find_peer(const PeerKey& id) {
  find_peer_.bind(1, std::span<const std::uint8_t>(id));
  auto peers = read_peers(find_peer_);
  if (!peers) return peers.error();
  if (peers->empty()) return std::optional<PeerRecord>{};
  return std::optional<PeerRecord>{peers->front()};
}

Result<std::vector<PeerRecord>> Store::find_peers_by_name(std::string_view name) {
  find_by_name_.bind(1, name);
  return read_peers(find_by_name_);
}

Result<std::vector<PeerRecord>> Store::list_peers() {
  return read_peers(list_peers_);
}

Result<void> Store::remember_peer(const PeerRecord& peer) {
  upsert_peer_.bind(1, std::span<const std::uint8_t>(peer.id))
      .bind(2, peer.name)
      .bind(3, peer.first_seen_ms)
      .bind(4, peer.last_seen_ms)
      .bind(5, peer.last_address);
  return upsert_peer_.run("cannot remember a peer");
}

Result<void> Store::remember_address(const PeerKey& peer, std::string_view address,
                                     std::string_view source, std::int64_t now_ms) {
  upsert_address_.bind(1, std::span<const std::uint8_t>(peer))
      .bind(2, address)
      .bind(3, source)
      .bind(4, now_ms);
  return upsert_address_.run("cannot remember a peer's address");
}

Result<std::vector<PeerAddress>> Store::peer_addresses(const PeerKey& peer, std::size_t limit) {
  select_addresses_.bind(1, std::span<const std::uint8_t>(peer))
      .bind(2, static_cast<std::int64_t>(limit));
  return select_addresses_.collect([](const Statement& row) {
    return PeerAddress{row.text(0), row.text(1), row.integer(2)};
  });
}

Result<std::optional<PeerKey>> Store::pinned_identity(std::string_view address) {
  find_pin_.bind(1, address);
  auto row = find_pin_.step();
  std::optional<PeerKey> key;
  if (row && *row) key = to_key(find_pin_.blob(0));
  find_pin_.reset();
  if (!row) return row.error();
  return key;
}

Result<void> Store::pin_address(std::string_view address, const PeerKey& id, std::int64_t now_ms) {
  auto existing = pinned_identity(address);
  if (!existing) return existing.error();
  if (*existing) {
    if (**existing == id) return {};
    return make_error(Errc::pin_conflict,
                      fmt::format("{} is already pinned to another identity; it is only "
                                  "replaced on an explicit request",
                                  address));
  }
  insert_pin_.bind(1, address).bind(2, std::span<const std::uint8_t>(id)).bind(3, now_ms);
  return insert_pin_.run("cannot pin an address");
}

Result<std::vector<AddressPin>> Store::address_pins() {
  auto statement = db_.prepare("SELECT address, peer_id FROM address_pins");
  if (!statement) return statement.error();
  return statement->collect([](const Statement& row) {
    return AddressPin{row.text(0), to_key(row.blob(1))};
  });
}

Result<void> Store::unpin_address(std::string_view address) {
  delete_pin_.bind(1, address);
  return delete_pin_.run("cannot remove an address pin");
}

Result<std::optional<std::string>> Store::setting(std::string_view key) {
  get_setting_.bind(1, key);
  auto row = get_setting_.step();
  std::optional<std::string> value;
  if (row && *row) value = get_setting_.text(0);
  get_setting_.reset();
  if (!row) return row.error();
  return value;
}

Result<void> Store::set_setting(std::string_view key, std::string_view value) {
  set_setting_.bind(1, key).bind(2, value);
  return set_setting_.run("cannot save a setting");
}

Result<std::string> Store::integrity_check() {
  return db_.query_text("PRAGMA integrity_check");
}

}  // namespace peerchat::store
