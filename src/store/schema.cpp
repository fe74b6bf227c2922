#include "store/schema.hpp"

namespace peerchat::store {
namespace {

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
    // 4: less written per message. Each conversation gets a small integer key, used in message
    // rows and indexes instead of the 32-byte peer ID, and one row holding its counters (what
    // `sequences` and `received` held, and the delivery watermark). Delivery moves that
    // watermark instead of updating every outgoing row: an outgoing message is delivered iff
    // its seq <= delivered_seq, so the outbox index goes too. A delivered message was never
    // behind a queued one (ACKs are cumulative), so the watermark sits just below the oldest
    // queued message; whatever is queued stays queued.
    R"sql(
    CREATE TABLE conversations (
      peer_key INTEGER PRIMARY KEY,
      peer_id BLOB NOT NULL UNIQUE CHECK (length(peer_id) = 32),
      next_send_seq INTEGER NOT NULL,  -- the next sequence number to send to this peer
      delivered_seq INTEGER NOT NULL,  -- outgoing messages up to this seq are delivered
      outbox_from INTEGER NOT NULL,    -- local_id at or below the oldest undelivered one
      received_seq INTEGER NOT NULL    -- the highest seq stored from this peer (de-duplication)
    );
    INSERT INTO conversations (peer_id, next_send_seq, delivered_seq, outbox_from, received_seq)
      SELECT peer_id, 1, 0, 0, 0 FROM (
        SELECT peer_id FROM sequences UNION SELECT peer_id FROM received
        UNION SELECT peer_id FROM messages)
      ORDER BY peer_id;
    -- The counters exactly as schema 3 used them: `sequences` and `received` alone.
    UPDATE conversations SET
      next_send_seq = coalesce(
        (SELECT s.next_send_seq FROM sequences s WHERE s.peer_id = conversations.peer_id), 1),
      received_seq = coalesce(
        (SELECT r.last_seq FROM received r WHERE r.peer_id = conversations.peer_id), 0);
    UPDATE conversations SET delivered_seq = coalesce(
      (SELECT min(m.seq) - 1 FROM messages m
       WHERE m.peer_id = conversations.peer_id AND m.outgoing = 1 AND m.state = 0),
      next_send_seq - 1);
    CREATE TABLE message_rows (
      local_id INTEGER PRIMARY KEY,  -- arrival order here (kept from schema 3); also the rowid
      peer_key INTEGER NOT NULL,     -- conversations.peer_key: author, or recipient if outgoing
      outgoing INTEGER NOT NULL,
      message_id BLOB NOT NULL,
      seq INTEGER NOT NULL,
      timestamp_ms INTEGER NOT NULL,
      stored_ms INTEGER NOT NULL,
      text TEXT NOT NULL
    );
    INSERT INTO message_rows
        (local_id, peer_key, outgoing, message_id, seq, timestamp_ms, stored_ms, text)
      SELECT m.local_id, c.peer_key, m.outgoing, m.message_id, m.seq, m.timestamp_ms,
             m.stored_ms, m.text
      FROM messages m JOIN conversations c ON c.peer_id = m.peer_id ORDER BY m.local_id;
    DROP TABLE messages;
    DROP TABLE received;
    DROP TABLE sequences;
    -- One conversation in arrival order (index entries end in the rowid): history, and the
    -- outbox as the outgoing rows from outbox_from on.
    CREATE INDEX message_rows_by_conversation ON message_rows(peer_key);
    -- A received message ID is stored once per author. Outgoing IDs are ours and need no check.
    CREATE UNIQUE INDEX message_rows_received_ids ON message_rows(peer_key, message_id)
      WHERE outgoing = 0;
    -- Only conversations with something undelivered need a search.
    UPDATE conversations SET outbox_from = CASE
      WHEN delivered_seq >= next_send_seq - 1
        THEN (SELECT coalesce(max(local_id), 0) + 1 FROM message_rows)
      ELSE coalesce((SELECT min(m.local_id) FROM message_rows m
                     WHERE m.peer_key = conversations.peer_key AND m.outgoing = 1
                       AND m.seq > conversations.delivered_seq), 0)
      END;
    -- Schema 3's messages table as a view, for reading with sqlite3 or test harnesses.
    CREATE VIEW messages AS
      SELECT m.local_id, c.peer_id, m.outgoing, m.message_id, m.seq, m.timestamp_ms, m.stored_ms,
             m.text,
             CASE WHEN m.outgoing = 0 THEN 3 WHEN m.seq <= c.delivered_seq THEN 2 ELSE 0 END
               AS state
      FROM message_rows m JOIN conversations c ON c.peer_key = m.peer_key;
    )sql",
    // 5: a conversation's rows are a range of the table itself, so the index by conversation
    // goes (it cost about a third of the CPU of storing a message). local_id is the peer key
    // in its top bits and the arrival number (schema 4's local_id, still counted across all
    // conversations) in its low 40: history and the outbox are rowid range scans.
    R"sql(
    DROP VIEW messages;
    CREATE TABLE message_rows_v5 (
      local_id INTEGER PRIMARY KEY,  -- (peer_key << 40) | arrival number; also the rowid
      peer_key INTEGER NOT NULL,     -- conversations.peer_key: author, or recipient if outgoing
      outgoing INTEGER NOT NULL,
      message_id BLOB NOT NULL,
      seq INTEGER NOT NULL,
      timestamp_ms INTEGER NOT NULL,
      stored_ms INTEGER NOT NULL,
      text TEXT NOT NULL
    );
    INSERT INTO message_rows_v5
        (local_id, peer_key, outgoing, message_id, seq, timestamp_ms, stored_ms, text)
      SELECT (peer_key << 40) | local_id, peer_key, outgoing, message_id, seq, timestamp_ms,
             stored_ms, text
      FROM message_rows ORDER BY peer_key, local_id;
    DROP TABLE message_rows;
    ALTER TABLE message_rows_v5 RENAME TO message_rows;
    CREATE UNIQUE INDEX message_rows_received_ids ON message_rows(peer_key, message_id)
      WHERE outgoing = 0;
    -- Each outbox_from moves into its conversation's range, keeping its place there.
    UPDATE conversations SET outbox_from = (peer_key << 40) | outbox_from;
    CREATE VIEW messages AS
      SELECT m.local_id & 0xFFFFFFFFFF AS local_id, c.peer_id, m.outgoing, m.message_id, m.seq,
             m.timestamp_ms, m.stored_ms, m.text,
             CASE WHEN m.outgoing = 0 THEN 3 WHEN m.seq <= c.delivered_seq THEN 2 ELSE 0 END
               AS state
      FROM message_rows m JOIN conversations c ON c.peer_key = m.peer_key;
    )sql",
    // 6: file transfers (store/transfers.hpp). A row per transfer, a row per manifest entry.
    R"sql(
    CREATE TABLE transfers (
      transfer_id BLOB PRIMARY KEY CHECK (length(transfer_id) = 16),
      peer_id BLOB NOT NULL CHECK (length(peer_id) = 32),
      outgoing INTEGER NOT NULL,
      manifest BLOB NOT NULL,
      state INTEGER NOT NULL,
      destination TEXT NOT NULL DEFAULT '',
      placement TEXT NOT NULL DEFAULT '',
      message TEXT NOT NULL DEFAULT '',
      created_ms INTEGER NOT NULL,
      updated_ms INTEGER NOT NULL
    );
    CREATE TABLE transfer_files (
      transfer_id BLOB NOT NULL REFERENCES transfers(transfer_id) ON DELETE CASCADE,
      entry INTEGER NOT NULL,
      source TEXT NOT NULL DEFAULT '',
      held BLOB NOT NULL DEFAULT x'',
      saved_path TEXT NOT NULL DEFAULT '',
      PRIMARY KEY (transfer_id, entry)
    ) WITHOUT ROWID;
    )sql",
};

}  // namespace

std::span<const std::string_view> schema_migrations() {
  return kMigrations;
}

}  // namespace peerchat::store
