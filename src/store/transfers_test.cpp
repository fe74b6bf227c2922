// Transfer state survives a restart exactly: what a resumed transfer needs is what was saved.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "store/store.hpp"

namespace peerchat::store {
namespace {

class TransfersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/peerchat-transfers-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Store> open() {
    auto store = Store::open(dir_ / "peerchat.db");
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
    return store.ok() ? std::move(store.value()) : nullptr;
  }
  static TransferRecord record(std::uint8_t seed, bool outgoing) {
    TransferRecord r;
    r.id.fill(seed);
    r.peer.fill(static_cast<std::uint8_t>(seed + 1));
    r.outgoing = outgoing;
    r.manifest = {1, 2, 3, seed};
    r.created_ms = 100 + seed;
    r.updated_ms = r.created_ms;
    return r;
  }
  std::filesystem::path dir_;
};

TEST_F(TransfersTest, RecordsFilesAndProgressSurviveARestart) {
  {
    auto store = open();
    ASSERT_TRUE(store
                    ->save_transfer(record(1, true), {{0, "/home/a/trip", {}, ""},
                                                      {1, "/home/a/trip/photo.jpg", {}, ""}})
                    .ok());
    ASSERT_TRUE(
        store->save_transfer(record(2, false), {{0, "", {0, 0}, ""}, {1, "", {0}, ""}}).ok());
    ASSERT_TRUE(
        store->set_transfer_state(record(2, false).id, TransferState::accepted, "", 200).ok());
    ASSERT_TRUE(store
                    ->set_transfer_placement(record(2, false).id, "/home/b/Downloads/peerchat",
                                             "trip\ttrip (1)\n", 201)
                    .ok());
    ASSERT_TRUE(store
                    ->save_transfer_progress(record(2, false).id,
                                             {{0, "", {0xFF, 0x03}, ""}, {1, "", {1}, "/x/f"}}, 300)
                    .ok());
  }
  auto store = open();
  auto unfinished = store->unfinished_transfers();
  ASSERT_TRUE(unfinished.ok());
  ASSERT_EQ(unfinished->size(), 2u);
  const TransferRecord& sent = (*unfinished)[0];
  const TransferRecord& received = (*unfinished)[1];
  EXPECT_TRUE(sent.outgoing);
  EXPECT_EQ(sent.manifest, (std::vector<std::uint8_t>{1, 2, 3, 1}));
  EXPECT_EQ(sent.state, TransferState::offered);
  EXPECT_EQ(received.state, TransferState::accepted);
  EXPECT_EQ(received.destination, "/home/b/Downloads/peerchat");
  EXPECT_EQ(received.placement, "trip\ttrip (1)\n");
  EXPECT_EQ(received.updated_ms, 300);
  auto sources = store->transfer_files(sent.id);
  ASSERT_EQ(sources->size(), 2u);
  EXPECT_EQ((*sources)[1].source, "/home/a/trip/photo.jpg");
  auto held = store->transfer_files(received.id);
  ASSERT_EQ(held->size(), 2u);
  EXPECT_EQ((*held)[0].held, (std::vector<std::uint8_t>{0xFF, 0x03}));
  EXPECT_EQ((*held)[1].saved_path, "/x/f");
}

TEST_F(TransfersTest, FinishedOnesAreNotResumedAndForgettingRemovesEverything) {
  auto store = open();
  for (std::uint8_t seed = 1; seed <= 4; ++seed) {
    ASSERT_TRUE(store->save_transfer(record(seed, false), {{0, "", {0}, ""}}).ok());
  }
  ASSERT_TRUE(store->set_transfer_state(record(1, false).id, TransferState::done, "", 5).ok());
  ASSERT_TRUE(
      store->set_transfer_state(record(2, false).id, TransferState::failed, "bad pieces", 5).ok());
  ASSERT_TRUE(
      store->set_transfer_state(record(3, false).id, TransferState::paused, "disk full", 5).ok());
  auto unfinished = store->unfinished_transfers();
  ASSERT_EQ(unfinished->size(), 2u);  // 3 (paused) and 4 (offered)
  EXPECT_EQ((*unfinished)[0].message, "disk full");
  ASSERT_TRUE(store->forget_transfer(record(3, false).id).ok());
  EXPECT_TRUE(store->transfer_files(record(3, false).id)->empty());
  EXPECT_EQ(store->unfinished_transfers()->size(), 1u);
  // Saving again replaces the files, never duplicates them.
  ASSERT_TRUE(store->save_transfer(record(4, false), {{0, "", {1}, ""}, {1, "", {2}, ""}}).ok());
  ASSERT_TRUE(store->save_transfer(record(4, false), {{0, "", {3}, ""}}).ok());
  auto files = store->transfer_files(record(4, false).id);
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].held, std::vector<std::uint8_t>{3});
  EXPECT_EQ(store->integrity_check().value(), "ok");
}

}  // namespace
}  // namespace peerchat::store
