// The command-line contract: exit codes, one-shot send, id, the data-dir lock.
#include <gtest/gtest.h>

#include <fstream>

#include "harness.hpp"

namespace peerchat::testing {
namespace {

TEST(IntegrationCli, PortInUseExitsWithCodeFourNamingThePort) {
  TempDir root;
  Peer alice("alice", root);
  const auto port = std::to_string(alice.port());
  auto result = run_to_end({peerchat_binary(), "--json", "--name", "bob", "--port", port,
                            "--data-dir", (root / "bob").string()},
                           root);
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_NE(result.err.find(port), std::string::npos) << result.err;
  auto event = json::parse(result.out.substr(0, result.out.find('\n')), nullptr, false);
  ASSERT_FALSE(event.is_discarded()) << result.out;
  EXPECT_EQ(event["code"], "port_in_use");
}

TEST(IntegrationCli, OneShotSendExitsZeroAfterTheAck) {
  TempDir root;
  Peer alice("alice", root);
  const auto sender_dir = (root / "sender").string();
  auto sent = run_to_end({peerchat_binary(), "send", "--data-dir", sender_dir, "--name", "bot",
                          "--to", alice.address(), "hello", "from", "a", "script"},
                         root);
  EXPECT_EQ(sent.exit_code, 0) << sent.err;
  auto message = alice.wait_event("message");
  ASSERT_TRUE(message);
  EXPECT_EQ((*message)["text"], "hello from a script");
  EXPECT_EQ((*message)["name"], "bot");

  auto id = run_to_end({peerchat_binary(), "id", "--data-dir", sender_dir}, root);
  EXPECT_EQ(id.exit_code, 0);
  EXPECT_EQ(id.out, (*message)["peer"].get<std::string>() + "\n");
}

TEST(IntegrationCli, OneShotSendToAClosedPortExitsFive) {
  TempDir root;
  auto sent = run_to_end({peerchat_binary(), "send", "--data-dir", (root / "s").string(), "--to",
                          "127.0.0.1:1", "anyone?"},
                         root);
  EXPECT_EQ(sent.exit_code, 5);
  EXPECT_NE(sent.err.find("refused"), std::string::npos) << sent.err;
}

TEST(IntegrationCli, SecondProcessOnTheSameDataDirExitsThree) {
  TempDir root;
  Peer alice("alice", root);
  auto second = run_to_end(
      {peerchat_binary(), "--json", "--port", "0", "--data-dir", alice.data_dir().string()}, root);
  EXPECT_EQ(second.exit_code, 3);
  EXPECT_NE(second.err.find("in use"), std::string::npos) << second.err;
}

TEST(IntegrationCli, StartupErrorsAreNamedByTheirCauseNotByTheirWording) {
  TempDir root;
  Peer alice("alice", root);
  auto first_event = [](const Finished& result) {
    return json::parse(result.out.substr(0, result.out.find('\n')), nullptr, false);
  };
  auto second = run_to_end(
      {peerchat_binary(), "--json", "--port", "0", "--data-dir", alice.data_dir().string()}, root);
  EXPECT_EQ(second.exit_code, 3);
  EXPECT_EQ(first_event(second).value("code", ""), "data_dir_in_use") << second.out;

  // A data dir that cannot be used, whose path happens to say "in use".
  const auto blocked = root / "not in use";
  { std::ofstream file(blocked); }  // a file where the directory should be
  auto unusable = run_to_end(
      {peerchat_binary(), "--json", "--port", "0", "--data-dir", blocked.string()}, root);
  EXPECT_EQ(unusable.exit_code, 3);
  EXPECT_EQ(first_event(unusable).value("code", ""), "data_dir_unusable") << unusable.out;
}

TEST(IntegrationCli, UsageErrorsExitTwo) {
  TempDir root;
  EXPECT_EQ(run_to_end({peerchat_binary(), "--no-such-option"}, root).exit_code, 2);
  EXPECT_EQ(run_to_end({peerchat_binary(), "send", "--to", "127.0.0.1:9"}, root).exit_code, 2);
}

}  // namespace
}  // namespace peerchat::testing
