#include "store/store.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "store/errors.hpp"

namespace peerchat::store {
namespace {

// Each entry moves the schema up one version, in its own transaction.
constexpr std::string_view kMigrations[] = {
    R"sql(
    CREATE TABLE peers (
      peer_id BLOB PRIMARY KEY CHECK (length(peer_id) = 32),
      name TEXT NOT NULL,
      first_seen_ms INTEGER NOT NULL,
      last_seen_ms INTEGER NOT NULL,
      last_address TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX peers_by_name ON peers(name);
    CREATE TABLE address_pins (
      address TEXT PRIMARY KEY,
      peer_id BLOB NOT NULL CHECK (length(peer_id) = 32),
      pinned_ms INTEGER NOT NULL
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE sequences (
      peer_id BLOB PRIMARY KEY CHECK (length(peer_id) = 32),
      next_send_seq INTEGER NOT NULL
    );
    )sql",
    // 2: messages in both directions; the outbox is the undelivered outgoing ones.
    R"sql(
    CREATE TABLE messages (
      local_id INTEGER PRIMARY KEY,  -- arrival order here; also the rowid
      peer_id BLOB NOT NULL CHECK (length(peer_id) = 32),
      outgoing INTEGER NOT NULL,
      message_id BLOB NOT NULL CHECK (length(message_id) = 16),
      seq INTEGER NOT NULL,
      timestamp_ms INTEGER NOT NULL,
      stored_ms INTEGER NOT NULL,
      text TEXT NOT NULL,
      state INTEGER NOT NULL,
      UNIQUE (peer_id, outgoing, message_id)
    );
    CREATE INDEX messages_by_conversation ON messages(peer_id, local_id);
    CREATE INDEX messages_outbox ON messages(peer_id, seq) WHERE outgoing = 1 AND state = 0;
    CREATE TABLE received (
      peer_id BLOB PRIMARY KEY CHECK (length(peer_id) = 32),
      last_seq INTEGER NOT NULL
    );
    )sql",
    // 3: every address a peer was reached at or announced, not just the last one.
    R"sql(
    CREATE TABLE peer_addresses (
      peer_id BLOB NOT NULL CHECK (length(peer_id) = 32),
      address TEXT NOT NULL,
      source TEXT NOT NULL,
      last_success_ms INTEGER NOT NULL,
      PRIMARY KEY (peer_id, address)
    );
    INSERT INTO peer_addresses (peer_id, address, source, last_success_ms)
      SELECT peer_id, last_address, 'dialed', last_seen_ms FROM peers WHERE last_address != '';
    )sql",
};

constexpr char kMessageColumns_outbox[] =
    "SELECT peer_id, outgoing, message_id, seq, timestamp_ms, stored_ms, text, state "
    "FROM messages WHERE outgoing = 1 AND state = 0 ORDER BY peer_id, seq";
// Newest `limit` first via the (peer_id, local_id) index; the caller reverses.
constexpr char kMessageColumns_history[] =
    "SELECT peer_id, outgoing, message_id, seq, timestamp_ms, stored_ms, text, state "
    "FROM messages WHERE peer_id = ?1 ORDER BY local_id DESC LIMIT ?2";

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
  for (int next = version; next < kSchemaVersion; ++next) {
    auto transaction = Transaction::begin(db_);
    if (!transaction) return transaction.error();
    if (auto applied = db_.exec(kMigrations[next], fmt::format("cannot migrate {} to schema {}",
                                                               file.string(), next + 1));
        !applied) {
      return applied.error();
    }
    if (auto bumped = db_.exec(fmt::format("PRAGMA user_version={}", next + 1), "schema version");
        !bumped) {
      return bumped.error();
    }
    if (auto committed = transaction->commit(); !committed) return committed.error();
  }
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
      {&get_sequence_, "SELECT next_send_seq FROM sequences WHERE peer_id = ?1"},
      {&set_sequence_,
       "INSERT INTO sequences (peer_id, next_send_seq) VALUES (?1, ?2) "
       "ON CONFLICT(peer_id) DO UPDATE SET next_send_seq = excluded.next_send_seq"},
      {&insert_message_,
       "INSERT INTO messages (peer_id, outgoing, message_id, seq, timestamp_ms, stored_ms, text, "
       "state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING"},
      {&select_outbox_, std::string_view(kMessageColumns_outbox)},
      {&count_outbox_, "SELECT count(*) FROM messages WHERE outgoing = 1 AND state = 0"},
      {&mark_delivered_,
       "UPDATE messages SET state = 2 WHERE peer_id = ?1 AND outgoing = 1 AND state = 0 AND "
       "seq <= ?2 RETURNING peer_id, outgoing, message_id, seq, timestamp_ms, stored_ms, text, "
       "state"},
      {&get_last_received_, "SELECT last_seq FROM received WHERE peer_id = ?1"},
      {&set_last_received_,
       "INSERT INTO received (peer_id, last_seq) VALUES (?1, ?2) "
       "ON CONFLICT(peer_id) DO UPDATE SET last_seq = excluded.last_seq"},
      {&select_history_, std::string_view(kMessageColumns_history)},
  };
  for (const auto& entry : entries) {
    auto prepared = db_.prepare(entry.sql);
    if (!prepared) return prepared.error();
    *entry.statement = std::move(prepared.value());
  }
  return {};
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
