// Nothing lost, nothing duplicated: offline queues, crashes at named points, kill loops,
// a full disk. Every check ends in the databases themselves.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "harness.hpp"

namespace peerchat::testing {
namespace {

// Polls `done` every 100 ms for up to `timeout`.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

std::vector<std::string> numbered(const std::string& prefix, int count) {
  std::vector<std::string> texts;
  for (int i = 0; i < count; ++i) texts.push_back(prefix + std::to_string(i));
  return texts;
}

// Every text exactly once, in this order.
void expect_exactly_once_in_order(const std::vector<std::string>& got,
                                  const std::vector<std::string>& want) {
  std::map<std::string, int> seen;
  for (const auto& text : got) ++seen[text];
  for (const auto& [text, times] : seen) EXPECT_EQ(times, 1) << "duplicate: " << text;
  EXPECT_EQ(got, want);
}

std::vector<std::string> port_args(int port) {
  return {"--port", std::to_string(port)};
}

TEST(IntegrationDurability, OfflinePeerGetsItsQueueInOrderWithoutConnect) {
  TempDir root;
  Peer alice("alice", root);
  std::string bob_id;
  {
    Peer bob("bob", root, {"--connect", alice.address()});
    bob_id = bob.id();
    ASSERT_TRUE(alice.wait_event("connected"));
    bob.command("/quit");
    ASSERT_EQ(bob.process().wait_exit(5s), std::optional<int>(0));
  }
  ASSERT_TRUE(alice.wait_event("disconnected"));
  const auto texts = numbered("offline ", 100);
  for (const auto& text : texts) alice.command("/msg bob " + text);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(alice.wait_event("queued")) << i;

  Peer bob("bob", root);  // same identity and data dir; nobody types /connect
  for (const auto& text : texts) {
    auto message = bob.wait_event("message", 15s);
    ASSERT_TRUE(message) << text;
    EXPECT_EQ((*message)["text"], text);
  }
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(alice.wait_event("delivered", 15s)) << i;
  Database alice_db(alice.data_dir());
  EXPECT_EQ(alice_db.outbox_size(), 0);
  Database bob_db(bob.data_dir());
  expect_exactly_once_in_order(bob_db.received_from(alice.id()), texts);
}

struct FailpointCase {
  const char* failpoint;
  bool kill_receiver;  // else the sender
};

void PrintTo(const FailpointCase& point, std::ostream* out) {
  *out << point.failpoint;
}

class IntegrationFailpoint : public ::testing::TestWithParam<FailpointCase> {};

TEST_P(IntegrationFailpoint, EveryMessageIsStoredExactlyOnceAfterRestart) {
  const auto& param = GetParam();
  const std::vector<std::string> env = {std::string("PEERCHAT_FAILPOINT=") + param.failpoint +
                                        ":2"};
  TempDir root;
  auto alice = std::make_unique<Peer>("alice", root, std::vector<std::string>{},
                                      param.kill_receiver ? std::vector<std::string>{} : env);
  const int alice_port = alice->port();
  auto bob =
      std::make_unique<Peer>("bob", root, std::vector<std::string>{"--connect", alice->address()},
                             param.kill_receiver ? env : std::vector<std::string>{});
  const int bob_port = bob->port();
  ASSERT_TRUE(alice->wait_event("connected"));
  const auto texts = numbered("fp ", 30);
  for (const auto& text : texts) {
    alice->command("/msg bob " + text);
    std::this_thread::sleep_for(5ms);  // several batches, so the 2nd hit comes mid-stream
  }
  Peer* victim = param.kill_receiver ? bob.get() : alice.get();
  auto status = victim->process().wait_exit(15s);
  ASSERT_TRUE(status) << param.failpoint << " never fired";
  EXPECT_EQ(*status, 128 + SIGKILL);

  // Restart the victim on its old port, without the failpoint.
  if (param.kill_receiver) {
    bob.reset();
    bob = std::make_unique<Peer>("bob", root, port_args(bob_port));
  } else {
    alice.reset();
    alice = std::make_unique<Peer>("alice", root, port_args(alice_port));
  }
  // Commands written to a dead sender were never committed: send those now.
  const auto sent = Database(alice->data_dir()).sent_texts();
  ASSERT_FALSE(sent.empty());
  for (std::size_t i = sent.size(); i < texts.size(); ++i) alice->command("/msg bob " + texts[i]);
  ASSERT_TRUE(eventually([&] {
    return Database(alice->data_dir()).outbox_size() == 0 &&
           Database(bob->data_dir()).received_from(alice->id()).size() >= texts.size();
  })) << "the outbox never drained";
  Database bob_db(bob->data_dir());
  expect_exactly_once_in_order(bob_db.received_from(alice->id()), texts);
  EXPECT_EQ(bob_db.integrity_check(), "ok");
  EXPECT_EQ(Database(alice->data_dir()).integrity_check(), "ok");
}

INSTANTIATE_TEST_SUITE_P(Points, IntegrationFailpoint,
                         ::testing::Values(FailpointCase{"receiver_after_commit_before_ack", true},
                                           FailpointCase{"receiver_after_read_before_commit", true},
                                           FailpointCase{"sender_after_send_before_delivered",
                                                         false}),
                         [](const ::testing::TestParamInfo<FailpointCase>& point) {
                           return std::string(point.param.failpoint);
                         });

TEST(IntegrationDurability, KillLoopLosesAndDuplicatesNothing) {
  // PEERCHAT_SOAK=1 runs the long version (1,000 kills).
  const bool soak = std::getenv("PEERCHAT_SOAK") != nullptr;
  const int kills_wanted = soak ? 1000 : 20;
  constexpr int kMessages = 2000;
  TempDir root;
  std::mt19937 random(20261124);
  auto alice = std::make_unique<Peer>("alice", root);
  const int alice_port = alice->port();
  auto bob =
      std::make_unique<Peer>("bob", root, std::vector<std::string>{"--connect", alice->address()});
  const int bob_port = bob->port();
  ASSERT_TRUE(alice->wait_event("connected"));
  const auto texts = numbered("kill loop ", kMessages);

  // What alice has committed is what counts as sent; after a kill it is read from her store.
  std::set<std::string> committed;
  std::size_t next = 0;
  int kills = 0;
  const auto deadline = Clock::now() + (soak ? 3600s : 240s);
  while ((next < texts.size() || kills < kills_wanted) && Clock::now() < deadline) {
    // Send a random-sized slice, then kill one side at a random moment.
    const std::size_t slice = std::min<std::size_t>(texts.size() - next, random() % 150);
    for (std::size_t i = 0; i < slice; ++i) alice->command("/msg bob " + texts[next + i]);
    next += slice;
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 120));
    if (kills >= kills_wanted) continue;
    const bool kill_alice = random() % 2 == 0;
    ++kills;
    if (kill_alice) {
      alice->process().signal(SIGKILL);
      alice->process().wait_exit(5s);
      alice.reset();
      // Resend only what alice had not committed before she died.
      auto sent = Database(root / "alice").sent_texts();
      committed = std::set<std::string>(sent.begin(), sent.end());
      std::size_t first_missing = 0;
      while (first_missing < next && committed.count(texts[first_missing]) > 0) ++first_missing;
      for (std::size_t i = first_missing; i < next; ++i) {
        ASSERT_EQ(committed.count(texts[i]), 0u) << "commits out of order at " << i;
      }
      next = first_missing;
      alice = std::make_unique<Peer>("alice", root, port_args(alice_port));
    } else {
      bob->process().signal(SIGKILL);
      bob->process().wait_exit(5s);
      bob.reset();
      bob = std::make_unique<Peer>("bob", root, port_args(bob_port));
    }
  }
  ASSERT_EQ(next, texts.size()) << "ran out of time after " << kills << " kills";
  EXPECT_GE(kills, kills_wanted);
  ASSERT_TRUE(eventually(
      [&] {
        return Database(root / "alice").outbox_size() == 0 &&
               Database(root / "bob").received_from(alice->id()).size() >= texts.size();
      },
      60s))
      << "outbox " << Database(root / "alice").outbox_size() << ", received "
      << Database(root / "bob").received_from(alice->id()).size();
  expect_exactly_once_in_order(Database(root / "bob").received_from(alice->id()), texts);
  EXPECT_EQ(Database(root / "alice").integrity_check(), "ok");
  EXPECT_EQ(Database(root / "bob").integrity_check(), "ok");
}

TEST(IntegrationDurability, FullDiskMeansNoAckAndRecoveryAfterwards) {
  TempDir root;
  const auto flag = root / "disk-full";
  Peer alice("alice", root);
  Peer bob("bob", root, {"--connect", alice.address()},
           {"PEERCHAT_FAULT_DISK_FULL=" + flag.string()});
  ASSERT_TRUE(alice.wait_event("connected"));
  std::ofstream(flag) << "full";
  alice.command("/msg bob while the disk is full");
  auto error = bob.wait_event("error");
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "store_failed");
  EXPECT_NE((*error)["message"].get<std::string>().find("full"), std::string::npos);
  alice.drain(1s);
  EXPECT_EQ(alice.count("delivered"), 0u) << "no ACK without a durable commit";
  EXPECT_EQ(bob.count("message"), 0u);
  bob.command("/msg alice my own disk is full too");
  auto refused = bob.wait_event("error");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["code"], "store_failed");

  std::filesystem::remove(flag);  // room again
  auto message = bob.wait_event("message", 20s);
  ASSERT_TRUE(message);
  EXPECT_EQ((*message)["text"], "while the disk is full");
  ASSERT_TRUE(alice.wait_event("delivered", 20s));
  bob.drain(500ms);
  EXPECT_EQ(bob.count("message"), 1u);
  EXPECT_EQ(Database(bob.data_dir()).integrity_check(), "ok");
}

TEST(IntegrationDurability, HistorySurvivesRestart) {
  TempDir root;
  Peer alice("alice", root);
  {
    Peer bob("bob", root, {"--connect", alice.address()});
    ASSERT_TRUE(both_connected(alice, bob));
    bob.command("/msg alice first");
    ASSERT_TRUE(bob.wait_event("delivered"));
    alice.command("/msg bob second");
    ASSERT_TRUE(bob.wait_event("message"));
    bob.command("/quit");
    ASSERT_EQ(bob.process().wait_exit(5s), std::optional<int>(0));
  }
  Peer bob("bob", root);
  bob.command("/history alice 10");
  auto history = bob.wait_event("history");
  ASSERT_TRUE(history);
  const auto& messages = (*history)["messages"];
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0]["text"], "first");
  EXPECT_EQ(messages[0]["direction"], "out");
  EXPECT_EQ(messages[0]["state"], "delivered");
  EXPECT_EQ(messages[1]["text"], "second");
  EXPECT_EQ(messages[1]["direction"], "in");
}

TEST(IntegrationDurability, CorruptDatabaseIsReportedNotServed) {
  TempDir root;
  {
    Peer alice("alice", root);
    alice.command("/quit");
    ASSERT_EQ(alice.process().wait_exit(5s), std::optional<int>(0));
  }
  const auto db = root / "alice" / "peerchat.db";
  std::filesystem::remove(root / "alice" / "peerchat.db-wal");
  std::filesystem::remove(root / "alice" / "peerchat.db-shm");
  {
    std::fstream file(db, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(4096);  // the second page: schema and data, not the header
    const std::string junk(4096, '\x5A');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto result = run_to_end(
      {peerchat_binary(), "--json", "--port", "0", "--data-dir", (root / "alice").string()}, root);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.err.find("peerchat.db"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace peerchat::testing
