#include "store/store.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "store/data_dir.hpp"
#include "store/errors.hpp"

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
  auto delivered = store->mark_delivered(key(1), 1);
  ASSERT_TRUE(delivered.ok());
  ASSERT_EQ(delivered->size(), 1u);
  EXPECT_EQ(delivered->front().text, "first");
  EXPECT_TRUE(store->mark_delivered(key(1), 1)->empty());  // already delivered
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
