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

TEST_F(StoreTest, AddressPinsAreNeverSilentlyReplaced) {
  auto store = open();
  EXPECT_FALSE(store->pinned_identity("127.0.0.1:7002")->has_value());
  ASSERT_TRUE(store->pin_address("127.0.0.1:7002", key(1), 5).ok());
  EXPECT_EQ(store->pinned_identity("127.0.0.1:7002")->value(), key(1));
  EXPECT_TRUE(store->pin_address("127.0.0.1:7002", key(1), 6).ok());   // same key: fine
  EXPECT_FALSE(store->pin_address("127.0.0.1:7002", key(2), 7).ok());  // different: refused
  EXPECT_EQ(store->pinned_identity("127.0.0.1:7002")->value(), key(1));
  ASSERT_TRUE(store->unpin_address("127.0.0.1:7002").ok());  // the explicit path
  ASSERT_TRUE(store->pin_address("127.0.0.1:7002", key(2), 8).ok());
  EXPECT_EQ(store->pinned_identity("127.0.0.1:7002")->value(), key(2));
}

TEST_F(StoreTest, SequenceBlocksNeverOverlapAcrossReopen) {
  std::uint64_t first = 0;
  std::uint64_t second = 0;
  {
    auto store = open();
    first = store->reserve_sequences(key(1), 100).value();
    second = store->reserve_sequences(key(1), 100).value();
    EXPECT_EQ(store->reserve_sequences(key(2), 10).value(), 1u);  // per peer
  }
  EXPECT_EQ(first, 1u);
  EXPECT_EQ(second, 101u);
  auto store = open();
  EXPECT_EQ(store->reserve_sequences(key(1), 100).value(), 201u);
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
