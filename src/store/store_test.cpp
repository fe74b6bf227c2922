#include "store/store.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>

#include "store/data_dir.hpp"
#include "store/errors.hpp"
#include "store/schema.hpp"

namespace peerchat::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/peerchat-store-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Store> open() {
    auto store = Store::open(dir_ / "peerchat.db");
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
    return store.ok() ? std::move(store.value()) : nullptr;
  }
  static PeerKey key(std::uint8_t fill) {
    PeerKey k{};
    k.fill(fill);
    return k;
  }
  std::filesystem::path dir_;
};

TEST_F(StoreTest, PeersAreRememberedAcrossReopen) {
  {
    auto store = open();
    ASSERT_TRUE(store->remember_peer(PeerRecord{key(1), "bob", 10, 10, "127.0.0.1:7002"}).ok());
    ASSERT_TRUE(store->remember_peer(PeerRecord{key(1), "bobby", 99, 20, "127.0.0.1:7003"}).ok());
    ASSERT_TRUE(store->remember_peer(PeerRecord{key(2), "bobby", 30, 30, ""}).ok());
  }
  auto store = open();
  auto bob = store->find_peer(key(1));
  ASSERT_TRUE(bob.ok() && bob.value().has_value());
  EXPECT_EQ(bob.value()->name, "bobby");
  EXPECT_EQ(bob.value()->first_seen_ms, 10);  // kept from the first sighting
  EXPECT_EQ(bob.value()->last_seen_ms, 20);
  EXPECT_EQ(bob.value()->last_address, "127.0.0.1:7003");
  EXPECT_EQ(store->find_peers_by_name("bobby")->size(), 2u);
  EXPECT_EQ(store->list_peers()->size(), 2u);
  EXPECT_FALSE(store->find_peer(key(9))->has_value());
  EXPECT_EQ(store->integrity_check().value(), "ok");
}

TEST_F(StoreTest, EveryAddressOfAPeerIsKeptNewestFirst) {
  {
    auto store = open();
    ASSERT_TRUE(store->remember_peer(PeerRecord{key(1), "bob", 10, 10, "127.0.0.1:7002"}).ok());
    // A later sighting with no dialable address keeps the last known one.
    ASSERT_TRUE(store->remember_peer(PeerRecord{key(1), "bob", 10, 20, ""}).ok());
    ASSERT_TRUE(store->remember_address(key(1), "127.0.0.1:7002", "dialed", 10).ok());
    ASSERT_TRUE(store->remember_address(key(1), "[::1]:7009", "announced", 30).ok());
    ASSERT_TRUE(store->remember_address(key(2), "127.0.0.1:9999", "dialed", 40).ok());
  }
  auto store = open();
  EXPECT_EQ(store->find_peer(key(1)).value()->last_address, "127.0.0.1:7002");
  auto addresses = store->peer_addresses(key(1));
  ASSERT_TRUE(addresses.ok());
  ASSERT_EQ(addresses->size(), 2u);
  EXPECT_EQ((*addresses)[0].address, "[::1]:7009");
  EXPECT_EQ((*addresses)[0].source, "announced");
  EXPECT_EQ((*addresses)[1].address, "127.0.0.1:7002");
  // Reached again at the older one: it moves to the front.
  ASSERT_TRUE(store->remember_address(key(1), "127.0.0.1:7002", "dialed", 50).ok());
  EXPECT_EQ(store->peer_addresses(key(1)).value()[0].address, "127.0.0.1:7002");
  EXPECT_EQ(store->peer_addresses(key(1), 1).value().size(), 1u);
}

TEST_F(StoreTest, AddressPinsAreNeverSilentlyReplaced) {
  auto store = open();
  EXPECT_FALSE(store->pinned_identity("127.0.0.1:7002")->has_value());
  ASSERT_TRUE(store->pin_address("127.0.0.1:7002", key(1), 5).ok());
  EXPECT_EQ(store->pinned_identity("127.0.0.1:7002")->value(), key(1));
  EXPECT_TRUE(store->pin_address("127.0.0.1:7002", key(1), 6).ok());  // same key: fine
  auto refused = store->pin_address("127.0.0.1:7002", key(2), 7);     // different: refused
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::pin_conflict);
  EXPECT_EQ(store->pinned_identity("127.0.0.1:7002")->value(), key(1));
  ASSERT_TRUE(store->unpin_address("127.0.0.1:7002").ok());  // the explicit path
  ASSERT_TRUE(store->pin_address("127.0.0.1:7002", key(2), 8).ok());
  EXPECT_EQ(store->pinned_identity("127.0.0.1:7002")->value(), key(2));
}

TEST_F(StoreTest, OutboxAssignsSequencesAndSurvivesReopen) {
  MessageKey one{};
  one.fill(1);
  MessageKey two{};
  two.fill(2);
  {
    auto store = open();
    auto first = store->queue_outgoing(key(1), one, 100, "first", 100);
    auto second = store->queue_outgoing(key(1), two, 101, "second", 101);
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_EQ(first->seq, 1u);
    EXPECT_EQ(second->seq, 2u);
    EXPECT_EQ(store->queue_outgoing(key(2), one, 102, "other peer", 102)->seq, 1u);
  }
  auto store = open();
  auto outbox = store->outbox();
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), 3u);
  EXPECT_EQ(store->outbox_size().value(), 3u);
  ASSERT_TRUE(store->mark_delivered(key(1), 1).ok());
  EXPECT_EQ(store->outbox_size().value(), 2u);
  EXPECT_EQ(store->outbox()->front().text, "second");
  ASSERT_TRUE(store->mark_delivered(key(1), 1).ok());  // already delivered: no change
  EXPECT_EQ(store->outbox_size().value(), 2u);
  MessageKey three{};
  three.fill(3);
  EXPECT_EQ(store->queue_outgoing(key(1), three, 103, "third", 103)->seq, 3u);  // never reused
}

TEST_F(StoreTest, IncomingDuplicatesAreNotStoredTwice) {
  auto store = open();
  std::vector<IncomingMessage> batch;
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    IncomingMessage message;
    message.id.fill(static_cast<std::uint8_t>(seq));
    message.seq = seq;
    message.text = "m" + std::to_string(seq);
    batch.push_back(message);
  }
  auto fresh = store->store_incoming(key(7), batch, 5);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(store->last_received_seq(key(7)).value(), 3u);
  // A resend after a reconnect: 2 and 3 again, then 4.
  std::vector<IncomingMessage> resend(batch.begin() + 1, batch.end());
  IncomingMessage fourth;
  fourth.id.fill(4);
  fourth.seq = 4;
  fourth.text = "m4";
  resend.push_back(fourth);
  fresh = store->store_incoming(key(7), resend, 6);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, (std::vector<bool>{false, false, true}));
  auto history = store->history(key(7), 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 4u);
  EXPECT_EQ(history->front().text, "m1");
  EXPECT_EQ(history->back().text, "m4");
  EXPECT_EQ(store->history(key(7), 2)->front().text, "m3");  // the last two, oldest first
}

IncomingMessage chat(std::uint64_t seq, std::uint8_t id_fill, std::string text) {
  IncomingMessage message;
  message.id.fill(id_fill);
  message.seq = seq;
  message.text = std::move(text);
  return message;
}

// "text:state" of each message, oldest first.
std::vector<std::string> summary(const std::vector<StoredMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& message : messages) {
    const char* state = message.state == MessageState::queued      ? "queued"
                        : message.state == MessageState::delivered ? "delivered"
                                                                   : "received";
    out.push_back(message.text + ":" + state);
  }
  return out;
}

std::vector<std::string> texts(const std::vector<StoredMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& message : messages) out.push_back(message.text);
  return out;
}

TEST_F(StoreTest, ResentMessageIdsAreNotStoredTwiceAcrossReopen) {
  {
    auto store = open();
    ASSERT_TRUE(
        store->store_incoming(key(7), std::vector{chat(1, 1, "m1"), chat(2, 2, "m2")}, 5).ok());
  }
  auto store = open();
  EXPECT_EQ(store->last_received_seq(key(7)).value(), 2u);
  // Seq 2 again (after the reopen), then message ID 1 under a new seq, then a new message.
  auto fresh = store->store_incoming(
      key(7), std::vector{chat(2, 2, "m2"), chat(3, 1, "m1 again"), chat(4, 4, "m4")}, 6);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(texts(store->history(key(7), 10).value()),
            (std::vector<std::string>{"m1", "m2", "m4"}));
  // The same ID from another author, or as our own outgoing one, is a different message.
  EXPECT_EQ(*store->store_incoming(key(8), std::vector{chat(1, 1, "other")}, 7),
            std::vector<bool>{true});
  MessageKey one{};
  one.fill(1);
  ASSERT_TRUE(store->queue_outgoing(key(7), one, 8, "ours", 8).ok());
  EXPECT_EQ(store->history(key(7), 10)->size(), 4u);
  EXPECT_EQ(store->integrity_check().value(), "ok");
}

// Rows are written many per statement: batches longer than one statement, with reused IDs
// anywhere in them, keep their order and their per-message flags.
TEST_F(StoreTest, LargeBatchesKeepOrderAndPerMessageFlags) {
  auto store = open();
  std::vector<IncomingMessage> batch;
  std::vector<bool> expected;
  std::vector<std::string> stored;
  for (std::uint64_t seq = 1; seq <= 150; ++seq) {
    IncomingMessage message = chat(seq, 0, "m" + std::to_string(seq));
    message.id[0] = static_cast<std::uint8_t>(seq);
    // Reused: one stored long before, one just before in the same statement, one in the
    // single-row tail.
    for (const auto& [reuser, original] : {std::pair{70u, 10u}, {100u, 99u}, {149u, 3u}}) {
      if (seq == reuser) message.id[0] = static_cast<std::uint8_t>(original);
    }
    expected.push_back(seq != 70 && seq != 100 && seq != 149);
    if (expected.back()) stored.push_back(message.text);
    batch.push_back(message);
  }
  auto fresh = store->store_incoming(key(5), batch, 1);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, expected);
  EXPECT_EQ(texts(store->history(key(5), 1000).value()), stored);
  EXPECT_EQ(store->last_received_seq(key(5)).value(), 150u);
  std::vector<OutgoingDraft> drafts;
  std::vector<std::string> sent;
  for (int i = 0; i < 150; ++i) {
    sent.push_back("o" + std::to_string(i));
    drafts.push_back(OutgoingDraft{key(6), MessageKey{}, i, sent.back()});
  }
  auto queued = store->queue_outgoing(drafts, 2);
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(queued->back().seq, 150u);
  EXPECT_EQ(texts(store->outbox().value()), sent);
  EXPECT_EQ(texts(store->history(key(6), 1000).value()), sent);
  EXPECT_EQ(store->integrity_check().value(), "ok");
}

TEST_F(StoreTest, DeliveryIsAWatermarkPerPeer) {
  MessageKey id{};
  {
    auto store = open();
    for (int i = 1; i <= 5; ++i) {
      id.fill(static_cast<std::uint8_t>(i));
      ASSERT_TRUE(store->queue_outgoing(key(1), id, i, "a" + std::to_string(i), i).ok());
    }
    ASSERT_TRUE(store->queue_outgoing(key(2), id, 6, "b1", 6).ok());
    ASSERT_TRUE(store->mark_delivered(key(1), 3).ok());
    ASSERT_TRUE(store->mark_delivered(key(1), 2).ok());  // an older ACK changes nothing
    ASSERT_TRUE(store->mark_delivered(key(9), 5).ok());  // nothing was sent to key(9)
    EXPECT_EQ(summary(store->history(key(1), 10).value()),
              (std::vector<std::string>{"a1:delivered", "a2:delivered", "a3:delivered", "a4:queued",
                                        "a5:queued"}));
  }
  auto store = open();
  EXPECT_EQ(summary(store->history(key(1), 10).value()),
            (std::vector<std::string>{"a1:delivered", "a2:delivered", "a3:delivered", "a4:queued",
                                      "a5:queued"}));
  EXPECT_EQ(texts(store->outbox().value()), (std::vector<std::string>{"a4", "a5", "b1"}));
  EXPECT_EQ(store->outbox_size().value(), 3u);
  // An ACK beyond what was sent delivers what was sent, not what is queued later.
  ASSERT_TRUE(store->mark_delivered(key(1), 100).ok());
  id.fill(9);
  EXPECT_EQ(store->queue_outgoing(key(1), id, 7, "a6", 7)->seq, 6u);
  EXPECT_EQ(summary(store->history(key(1), 2).value()),
            (std::vector<std::string>{"a5:delivered", "a6:queued"}));
  EXPECT_EQ(texts(store->outbox().value()), (std::vector<std::string>{"a6", "b1"}));
  EXPECT_EQ(store->integrity_check().value(), "ok");
}

TEST_F(StoreTest, OutboxAfterPartialDeliveriesAmongIncomingMessages) {
  MessageKey id{};
  std::uint8_t next_id = 0;
  auto send = [&](Store& store, const std::string& text) {
    id.fill(++next_id);
    ASSERT_TRUE(store.queue_outgoing(key(1), id, 1, text, 1).ok());
  };
  {
    auto store = open();
    send(*store, "o1");
    send(*store, "o2");
    ASSERT_TRUE(
        store->store_incoming(key(1), std::vector{chat(1, 1, "i1"), chat(2, 2, "i2")}, 2).ok());
    send(*store, "o3");
    ASSERT_TRUE(store->mark_delivered(key(1), 1).ok());
    send(*store, "o4");
    ASSERT_TRUE(store->store_incoming(key(1), std::vector{chat(3, 3, "i3")}, 3).ok());
    send(*store, "o5");
    ASSERT_TRUE(store->mark_delivered(key(1), 3).ok());  // the oldest waiting one is past i3
    EXPECT_EQ(texts(store->outbox().value()), (std::vector<std::string>{"o4", "o5"}));
  }
  auto store = open();
  EXPECT_EQ(texts(store->outbox().value()), (std::vector<std::string>{"o4", "o5"}));
  ASSERT_TRUE(store->mark_delivered(key(1), 5).ok());
  EXPECT_TRUE(store->outbox()->empty());
  send(*store, "o6");  // queued after an empty outbox
  EXPECT_EQ(texts(store->outbox().value()), (std::vector<std::string>{"o6"}));
  EXPECT_EQ(texts(store->history(key(1), 10).value()),
            (std::vector<std::string>{"o1", "o2", "i1", "i2", "o3", "o4", "i3", "o5", "o6"}));
  EXPECT_EQ(store->integrity_check().value(), "ok");
}

// A write that fails halfway is rolled back, and so are the counters the store keeps in memory.
TEST_F(StoreTest, AFailedWriteAdvancesNoSequence) {
  auto store = open();
  {
    auto db = Database::open((dir_ / "peerchat.db").string());
    ASSERT_TRUE(db->exec("CREATE TRIGGER fail BEFORE INSERT ON message_rows WHEN NEW.text = 'fail' "
                         "BEGIN SELECT RAISE(ABORT, 'injected'); END",
                         "test trigger")
                    .ok());
  }
  MessageKey id{};
  // key(1) and key(2) are new conversations, key(3) an existing one.
  ASSERT_TRUE(store->queue_outgoing(key(3), id, 0, "to 3", 0).ok());
  ASSERT_TRUE(store->store_incoming(key(3), std::vector{chat(1, 1, "from 3")}, 0).ok());
  for (const PeerKey& peer : {key(1), key(3)}) {
    std::vector<OutgoingDraft> drafts{{peer, id, 1, "ok"}, {peer, id, 1, "fail"}};
    EXPECT_FALSE(store->queue_outgoing(drafts, 1).ok());
  }
  for (const PeerKey& peer : {key(2), key(3)}) {
    EXPECT_FALSE(
        store->store_incoming(peer, std::vector{chat(2, 2, "ok"), chat(3, 3, "fail")}, 1).ok());
  }
  EXPECT_EQ(store->queue_outgoing(key(1), id, 2, "sent", 2)->seq, 1u);
  EXPECT_EQ(store->queue_outgoing(key(3), id, 2, "sent", 2)->seq, 2u);
  for (const PeerKey& peer : {key(2), key(3)}) {
    EXPECT_EQ(*store->store_incoming(peer, std::vector{chat(2, 2, "got")}, 2),
              std::vector<bool>{true});
  }
  store.reset();
  store = open();
  EXPECT_EQ(summary(store->history(key(1), 10).value()), std::vector<std::string>{"sent:queued"});
  EXPECT_EQ(summary(store->history(key(2), 10).value()), std::vector<std::string>{"got:received"});
  EXPECT_EQ(
      summary(store->history(key(3), 10).value()),
      (std::vector<std::string>{"to 3:queued", "from 3:received", "sent:queued", "got:received"}));
  EXPECT_EQ(store->integrity_check().value(), "ok");
}

// Readers outside the store (sqlite3, the integration harness) see schema 3's messages table.
TEST_F(StoreTest, MessagesViewKeepsTheSchema3Shape) {
  {
    auto store = open();
    MessageKey id{};
    ASSERT_TRUE(store->queue_outgoing(key(1), id, 1, "out1", 1).ok());
    id.fill(2);
    ASSERT_TRUE(store->queue_outgoing(key(1), id, 2, "out2", 2).ok());
    ASSERT_TRUE(store->store_incoming(key(2), std::vector{chat(1, 3, "in1")}, 3).ok());
    ASSERT_TRUE(store->mark_delivered(key(1), 1).ok());
  }
  auto db = Database::open((dir_ / "peerchat.db").string());
  ASSERT_TRUE(db.ok());
  auto rows = db->prepare(
      "SELECT local_id, hex(peer_id), outgoing, seq, text, state FROM messages "
      "WHERE local_id > ?1 ORDER BY local_id");
  ASSERT_TRUE(rows.ok());
  rows->bind(1, std::int64_t{0});
  auto read = rows->collect([](const Statement& row) {
    return fmt::format("{} {} {} {} {} {}", row.integer(0), row.text(1).substr(0, 2),
                       row.integer(2), row.integer(3), row.text(4), row.integer(5));
  });
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read,
            (std::vector<std::string>{"1 01 1 1 out1 2", "2 01 1 2 out2 0", "3 02 0 1 in1 3"}));
  EXPECT_EQ(
      db->query_text("SELECT count(*) FROM messages WHERE outgoing = 1 AND state = 0").value(),
      "1");
}

// Schema 3 exactly as peerchat made it (migrations 1 to 3, from git f70a700).
constexpr char kSchema3[] = R"sql(
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
    CREATE TABLE peer_addresses (
      peer_id BLOB NOT NULL CHECK (length(peer_id) = 32),
      address TEXT NOT NULL,
      source TEXT NOT NULL,
      last_success_ms INTEGER NOT NULL,
      PRIMARY KEY (peer_id, address)
    );
    INSERT INTO peer_addresses (peer_id, address, source, last_success_ms)
      SELECT peer_id, last_address, 'dialed', last_seen_ms FROM peers WHERE last_address != '';
    PRAGMA user_version = 3;
    )sql";

// x'..' for a blob of `size` bytes of `fill`.
std::string blob(std::uint8_t fill, std::size_t size) {
  return "x'" + std::string(2 * size, "0123456789ABCDEF"[fill & 15]) + "'";
}

// A schema 3 database: alice (A) with delivered, queued and received messages, bob (B) only
// writing to us and not a known peer, carol (C) all delivered, D only in `received`, E only in
// `sequences`. States are per row in schema 3.
void write_schema3(const std::filesystem::path& file) {
  auto db = Database::open(file.string());
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db->exec(kSchema3, "schema 3").ok());
  std::string sql = fmt::format(
      "INSERT INTO peers VALUES ({A}, 'alice', 10, 20, '127.0.0.1:7001');"
      "INSERT INTO peers VALUES ({C}, 'carol', 11, 21, '');"
      "INSERT INTO address_pins VALUES ('127.0.0.1:7001', {A}, 5);"
      "INSERT INTO peer_addresses VALUES ({A}, '127.0.0.1:7001', 'dialed', 20), "
      "({A}, '[::1]:7001', 'announced', 30);"
      "INSERT INTO settings VALUES ('name', 'me');"
      "INSERT INTO sequences VALUES ({A}, 6), ({C}, 3), ({E}, 4);"
      "INSERT INTO received VALUES ({A}, 1), ({B}, 2), ({D}, 7);",
      fmt::arg("A", blob(0xA, 32)), fmt::arg("B", blob(0xB, 32)), fmt::arg("C", blob(0xC, 32)),
      fmt::arg("D", blob(0xD, 32)), fmt::arg("E", blob(0xE, 32)));
  struct Row {
    std::uint8_t peer;
    int outgoing;
    std::uint8_t id;
    int seq;
    const char* text;
    int state;
  };
  const Row rows[] = {{0xA, 1, 1, 1, "a1", 2},     {0xB, 0, 1, 1, "b1", 3}, {0xA, 1, 2, 2, "a2", 2},
                      {0xA, 0, 1, 1, "from a", 3}, {0xA, 1, 3, 3, "a3", 0}, {0xB, 0, 2, 2, "b2", 3},
                      {0xA, 1, 4, 4, "a4", 0},     {0xA, 1, 5, 5, "a5", 0}, {0xC, 1, 1, 1, "c1", 2},
                      {0xC, 1, 2, 2, "c2", 2}};
  int local_id = 0;
  for (const auto& row : rows) {
    ++local_id;
    sql += fmt::format("INSERT INTO messages VALUES ({}, {}, {}, {}, {}, {}, {}, '{}', {});",
                       local_id, blob(row.peer, 32), row.outgoing, blob(row.id, 16), row.seq,
                       1000 + local_id, 2000 + local_id, row.text, row.state);
  }
  ASSERT_TRUE(db->exec(sql, "schema 3 rows").ok());
}

TEST_F(StoreTest, Schema3MigratesWithAllItsData) {
  ASSERT_NO_FATAL_FAILURE(write_schema3(dir_ / "peerchat.db"));
  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->integrity_check().value(), "ok");
  // Peers, pins, addresses, settings: untouched.
  auto alice = store->find_peer(key(0xAA));
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->name, "alice");
  EXPECT_EQ((*alice)->first_seen_ms, 10);
  EXPECT_EQ((*alice)->last_address, "127.0.0.1:7001");
  EXPECT_EQ(store->list_peers()->size(), 2u);
  EXPECT_EQ(store->pinned_identity("127.0.0.1:7001").value(), key(0xAA));
  EXPECT_EQ(store->peer_addresses(key(0xAA))->size(), 2u);
  EXPECT_EQ(store->setting("name").value(), "me");
  // Messages in arrival order with their states, fields as stored.
  auto history = store->history(key(0xAA), 10);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(summary(*history),
            (std::vector<std::string>{"a1:delivered", "a2:delivered", "from a:received",
                                      "a3:queued", "a4:queued", "a5:queued"}));
  EXPECT_EQ((*history)[2].seq, 1u);
  EXPECT_EQ((*history)[2].timestamp_ms, 1004);
  EXPECT_EQ((*history)[2].stored_ms, 2004);
  MessageKey ones{};
  ones.fill(0x11);
  EXPECT_EQ((*history)[2].id, ones);
  EXPECT_EQ((*history)[2].peer, key(0xAA));
  EXPECT_EQ(summary(store->history(key(0xBB), 10).value()),
            (std::vector<std::string>{"b1:received", "b2:received"}));
  EXPECT_EQ(summary(store->history(key(0xCC), 10).value()),
            (std::vector<std::string>{"c1:delivered", "c2:delivered"}));
  EXPECT_EQ(texts(store->outbox().value()), (std::vector<std::string>{"a3", "a4", "a5"}));
  EXPECT_EQ(store->outbox_size().value(), 3u);
  // Received sequences: duplicates stay duplicates, by seq and by message ID.
  EXPECT_EQ(store->last_received_seq(key(0xAA)).value(), 1u);
  EXPECT_EQ(store->last_received_seq(key(0xBB)).value(), 2u);
  EXPECT_EQ(store->last_received_seq(key(0xDD)).value(), 7u);
  EXPECT_EQ(
      *store->store_incoming(
          key(0xBB),
          std::vector{chat(2, 0x22, "b2"), chat(3, 0x11, "b1 again"), chat(4, 0x44, "b4")}, 9),
      (std::vector<bool>{false, false, true}));
  EXPECT_EQ(*store->store_incoming(key(0xDD), std::vector{chat(7, 7, "d7"), chat(8, 8, "d8")}, 9),
            (std::vector<bool>{false, true}));
  // Send sequences continue where they were, never reused.
  MessageKey id{};
  id.fill(0x99);
  EXPECT_EQ(store->queue_outgoing(key(0xAA), id, 9, "a6", 9)->seq, 6u);
  EXPECT_EQ(store->queue_outgoing(key(0xCC), id, 9, "c3", 9)->seq, 3u);
  EXPECT_EQ(store->queue_outgoing(key(0xEE), id, 9, "e4", 9)->seq, 4u);
  ASSERT_TRUE(store->mark_delivered(key(0xAA), 4).ok());
  EXPECT_EQ(texts(store->outbox().value()), (std::vector<std::string>{"a5", "a6", "c3", "e4"}));
  // Arrival order continues after the migrated rows.
  auto db = Database::open((dir_ / "peerchat.db").string());
  EXPECT_EQ(db->query_text("PRAGMA user_version").value(), std::to_string(Store::kSchemaVersion));
  EXPECT_EQ(db->query_text("SELECT group_concat(text, ',') FROM (SELECT text FROM messages "
                           "ORDER BY local_id)")
                .value(),
            "a1,b1,a2,from a,a3,b2,a4,a5,c1,c2,b4,d8,a6,c3,e4");
  EXPECT_EQ(store->integrity_check().value(), "ok");
}

TEST_F(StoreTest, SchemaVersionIsTheNumberOfMigrations) {
  EXPECT_EQ(schema_migrations().size(), static_cast<std::size_t>(Store::kSchemaVersion));
}

class DiskFull final : public FaultInjector {
 public:
  bool disk_full() const override { return full; }
  bool full = false;
};

TEST_F(StoreTest, DiskFullFailsWritesWithoutDamage) {
  auto store = open();
  DiskFull faults;
  store->set_fault_injector(&faults);
  MessageKey id{};
  ASSERT_TRUE(store->queue_outgoing(key(1), id, 1, "before", 1).ok());
  faults.full = true;
  id.fill(9);
  auto refused = store->queue_outgoing(key(1), id, 2, "during", 2);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::disk_full);
  EXPECT_FALSE(store->store_incoming(key(2), std::vector{IncomingMessage{id, 1, 1, "x"}}, 3).ok());
  faults.full = false;
  EXPECT_EQ(store->outbox_size().value(), 1u);
  EXPECT_EQ(store->integrity_check().value(), "ok");
  EXPECT_TRUE(store->queue_outgoing(key(1), id, 4, "after", 4).ok());
}

TEST_F(StoreTest, SettingsRoundTrip) {
  auto store = open();
  EXPECT_FALSE(store->setting("name")->has_value());
  ASSERT_TRUE(store->set_setting("name", "alice").ok());
  ASSERT_TRUE(store->set_setting("name", "alice2").ok());
  EXPECT_EQ(store->setting("name")->value(), "alice2");
}

TEST_F(StoreTest, GarbageFileIsReportedAsCorrupt) {
  std::ofstream(dir_ / "peerchat.db") << std::string(8192, 'x');
  auto store = Store::open(dir_ / "peerchat.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::corrupt);
  EXPECT_NE(store.error().message.find("peerchat.db"), std::string::npos);
}

TEST_F(StoreTest, NewerSchemaIsRefused) {
  { open(); }
  {
    auto db = Database::open((dir_ / "peerchat.db").string());
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("PRAGMA user_version=999", "test").ok());
  }
  auto store = Store::open(dir_ / "peerchat.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::schema_too_new);
}

TEST_F(StoreTest, DatabaseUsesWal) {
  auto store = open();
  auto db = Database::open((dir_ / "peerchat.db").string());
  EXPECT_EQ(db->query_text("PRAGMA journal_mode").value(), "wal");
}

TEST(DataDir, SecondLockOnTheSameDirIsRefusedWithThePid) {
  char pattern[] = "/tmp/peerchat-lock-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = std::filesystem::path(pattern) / "alice";
  {
    auto first = DataDirLock::acquire(dir);
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_EQ(std::filesystem::status(dir).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_all);
    auto second = DataDirLock::acquire(dir);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, Errc::data_dir_in_use);
    EXPECT_NE(second.error().message.find(std::to_string(::getpid())), std::string::npos);
  }
  EXPECT_TRUE(DataDirLock::acquire(dir).ok());  // released with the first
  std::filesystem::remove_all(pattern);
}

TEST(DataDir, DefaultHonoursXdgDataHome) {
  const char* saved = std::getenv("XDG_DATA_HOME");
  const std::string previous = saved != nullptr ? saved : "";
  ::setenv("XDG_DATA_HOME", "/srv/data", 1);
  EXPECT_EQ(default_data_dir("alice"), std::filesystem::path("/srv/data/peerchat/alice"));
  EXPECT_EQ(default_data_dir("../evil"), std::filesystem::path("/srv/data/peerchat/.._evil"));
  EXPECT_EQ(default_data_dir(""), std::filesystem::path("/srv/data/peerchat/default"));
  if (saved != nullptr) {
    ::setenv("XDG_DATA_HOME", previous.c_str(), 1);
  } else {
    ::unsetenv("XDG_DATA_HOME");
  }
}

}  // namespace
}  // namespace peerchat::store
