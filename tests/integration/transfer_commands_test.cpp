// File transfer from the outside: the JSON commands (sendfile, accept, decline, cancel,
// transfers) between real peerchat processes, the REPL's lines when stdout is a pipe, and the
// one-shot `peerchat send-file` with its exit codes.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "harness.hpp"

namespace peerchat::testing {
namespace {

std::optional<json> result_for(Peer& peer, const std::string& id) {
  return peer.wait_for([&](const json& e) { return e["event"] == "result" && e["id"] == id; });
}

// The next transfer_* event `name` about `transfer`.
std::optional<json> transfer_event(Peer& peer, const std::string& name, const std::string& transfer,
                                   std::chrono::milliseconds timeout = 20s) {
  return peer.wait_for(
      [&](const json& e) { return e["event"] == name && e.value("transfer", "") == transfer; },
      timeout);
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Offers `path` from `from` to `to` with a JSON sendfile; the transfer's ID, once `to` has
// the whole offer.
std::string offer(Peer& from, Peer& to, const std::filesystem::path& path,
                  const std::string& request) {
  from.command(R"({"id":")" + request + R"(","cmd":"sendfile","peer":")" + to.name() +
               R"(","paths":[")" + path.string() + R"("]})");
  auto sent = result_for(from, request);
  if (!sent || (*sent)["ok"] != true) {
    ADD_FAILURE() << "sendfile failed: " << (sent ? sent->dump() : "no result");
    return {};
  }
  const std::string id = (*sent)["transfer"];
  EXPECT_TRUE(transfer_event(to, "transfer_offered", id)) << "no offer arrived";
  return id;
}

std::string grep_text(Peer& peer) {
  std::string all;
  for (const auto& event : peer.log()) all += event.dump() + "\n";
  return all;
}

TEST(IntegrationTransferCommands, SendfileIsAnsweredWithTheTransferAndTheOfferArrives) {
  TempDir root;
  Peer bob("bob", root, {"--download-dir", (root / "bob-downloads").string()});
  Peer alice("alice", root, {"--connect", bob.address()});
  ASSERT_TRUE(both_connected(alice, bob));
  write_file(root / "send" / "report one.txt", "twelve bytes");

  alice.command(R"({"id":"s1","cmd":"sendfile","peer":"bob","paths":[")" +
                (root / "send" / "report one.txt").string() + R"("]})");
  auto sent = result_for(alice, "s1");
  ASSERT_TRUE(sent);
  ASSERT_EQ((*sent)["ok"], true) << sent->dump();
  EXPECT_EQ((*sent)["cmd"], "sendfile");
  EXPECT_EQ((*sent)["peer"], bob.id());
  const std::string id = (*sent)["transfer"];
  EXPECT_EQ(id.size(), 32u);

  auto offered = transfer_event(bob, "transfer_offered", id);
  ASSERT_TRUE(offered);
  EXPECT_EQ((*offered)["peer"], alice.id());
  EXPECT_EQ((*offered)["name"], "alice");
  EXPECT_EQ((*offered)["direction"], "in");
  EXPECT_EQ((*offered)["total_bytes"], 12);
  ASSERT_EQ((*offered)["files"].size(), 1u);
  EXPECT_EQ((*offered)["files"][0]["path"], "report one.txt");
  EXPECT_EQ((*offered)["files"][0]["size"], 12);
  EXPECT_TRUE((*offered).contains("free_bytes"));
}

// Needs the service's find() (main): the offer is declined by an 8-digit prefix.
TEST(IntegrationTransferCommands, DeclineByPrefixIsHeardByTheSenderAndListed) {
  TempDir root;
  Peer bob("bob", root, {"--download-dir", (root / "bob-downloads").string()});
  Peer alice("alice", root, {"--connect", bob.address()});
  ASSERT_TRUE(both_connected(alice, bob));
  write_file(root / "send" / "a.txt", "a");
  const std::string id = offer(alice, bob, root / "send" / "a.txt", "s1");
  ASSERT_FALSE(id.empty());

  bob.command(R"({"id":"d1","cmd":"decline","transfer":")" + id.substr(0, 8) + R"("})");
  auto declined = result_for(bob, "d1");
  ASSERT_TRUE(declined);
  ASSERT_EQ((*declined)["ok"], true) << declined->dump();
  EXPECT_EQ((*declined)["transfer"], id);
  ASSERT_TRUE(transfer_event(bob, "transfer_declined", id));
  auto heard = transfer_event(alice, "transfer_declined", id);
  ASSERT_TRUE(heard);
  EXPECT_EQ((*heard)["direction"], "out");

  // Declined twice: it is no offer any more.
  bob.command(R"({"id":"d2","cmd":"decline","transfer":")" + id + R"("})");
  auto again = result_for(bob, "d2");
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)["ok"], false);

  // Both sides list it, finished, with its columns.
  for (Peer* peer : {&alice, &bob}) {
    peer->command(R"({"id":"l1","cmd":"transfers"})");
    auto listed = result_for(*peer, "l1");
    ASSERT_TRUE(listed);
    ASSERT_EQ((*listed)["ok"], true) << listed->dump();
    const auto& list = (*listed)["transfers"];
    auto it = std::find_if(list.begin(), list.end(), [&](const json& t) { return t["id"] == id; });
    ASSERT_NE(it, list.end()) << listed->dump();
    EXPECT_EQ((*it)["state"], "declined");
    EXPECT_EQ((*it)["direction"], peer == &alice ? "out" : "in");
    EXPECT_EQ((*it)["peer"], peer == &alice ? bob.id() : alice.id());
    for (const char* column :
         {"name", "bytes", "total_bytes", "files", "title", "destination", "message"}) {
      EXPECT_TRUE(it->contains(column)) << column;
    }
  }
}

TEST(IntegrationTransferCommands, CommandsNameTheirFailures) {
  TempDir root;
  Peer bob("bob", root, {"--download-dir", (root / "bob-downloads").string()});
  Peer alice("alice", root, {"--connect", bob.address()});
  ASSERT_TRUE(both_connected(alice, bob));
  write_file(root / "send" / "a.txt", "a");

  // No transfer has this prefix (IDs are random; a fixed prefix of 0s is astronomically safe).
  for (const char* cmd : {"accept", "decline", "cancel"}) {
    const std::string request = std::string("u-") + cmd;
    bob.command(R"({"id":")" + request + R"(","cmd":")" + cmd +
                R"(","transfer":"00000000000000000000"})");
    auto unknown = result_for(bob, request);
    ASSERT_TRUE(unknown) << cmd;
    EXPECT_EQ((*unknown)["ok"], false) << cmd;
    EXPECT_EQ((*unknown)["code"], "unknown_transfer") << unknown->dump();
    EXPECT_FALSE((*unknown)["message"].get<std::string>().empty());
  }
  const std::vector<std::pair<std::string, std::string>> usage = {
      {"m1", R"({"id":"m1","cmd":"accept"})"},
      {"m2", R"({"id":"m2","cmd":"sendfile","peer":"bob"})"},
      {"m3", R"({"id":"m3","cmd":"sendfile","peer":"bob","paths":[]})"},
      {"m4", R"({"id":"m4","cmd":"sendfile","peer":"bob","paths":[7]})"},
      {"m5", R"({"id":"m5","cmd":"accept","transfer":"abcd","dir":3})"}};
  for (const auto& [request, line] : usage) {
    alice.command(line);
    auto refused = result_for(alice, request);
    ASSERT_TRUE(refused) << line;
    EXPECT_EQ((*refused)["code"], "usage") << refused->dump();
  }
  alice.command(R"({"id":"p1","cmd":"sendfile","peer":"nobody","paths":[")" +
                (root / "send" / "a.txt").string() + R"("]})");
  auto nobody = result_for(alice, "p1");
  ASSERT_TRUE(nobody);
  EXPECT_EQ((*nobody)["code"], "unknown_peer");
  alice.command(R"({"id":"p2","cmd":"sendfile","peer":"bob","paths":[")" +
                (root / "send" / "missing.txt").string() + R"("]})");
  auto missing = result_for(alice, "p2");
  ASSERT_TRUE(missing);
  EXPECT_EQ((*missing)["ok"], false) << missing->dump();
  EXPECT_FALSE((*missing)["message"].get<std::string>().empty());

  alice.command(R"({"id":"t1","cmd":"transfers"})");
  auto listed = result_for(alice, "t1");
  ASSERT_TRUE(listed);
  EXPECT_EQ((*listed)["ok"], true);
  EXPECT_TRUE((*listed)["transfers"].is_array());

  // Slash lines: malformed ones are usage errors, nothing is offered.
  alice.command("/decline");
  alice.command(R"(/sendfile bob "unclosed)");
  alice.command("/sendfile bob");
  alice.command("/accept a b c");
  for (int i = 0; i < 4; ++i) {
    auto error = alice.wait_for([](const json& e) { return e["event"] == "error"; });
    ASSERT_TRUE(error) << i;
    EXPECT_EQ((*error)["code"], "usage") << error->dump();
  }
  alice.command(R"(/sendfile bob ")" + (root / "send" / "a.txt").string() + "\"");
  EXPECT_TRUE(bob.wait_event("transfer_offered"));
  EXPECT_EQ(bob.count("transfer_offered"), 1u) << grep_text(bob);
}

// Needs the service's accept half (main).
TEST(IntegrationTransferCommands, AcceptedFilesArriveVerifiedAndBothSidesHearDone) {
  TempDir root;
  Peer bob("bob", root, {"--download-dir", (root / "bob-downloads").string()});
  Peer alice("alice", root, {"--connect", bob.address()});
  ASSERT_TRUE(both_connected(alice, bob));
  std::string big(300'000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 % 251);
  write_file(root / "send" / "album" / "cover art.jpg", big);
  write_file(root / "send" / "album" / "notes" / "liner.txt", "liner notes");
  const std::string id = offer(alice, bob, root / "send" / "album", "s1");
  ASSERT_FALSE(id.empty());

  const auto into = root / "chosen";
  bob.command(R"({"id":"a1","cmd":"accept","transfer":")" + id.substr(0, 6) + R"(","dir":")" +
              into.string() + R"("})");
  auto accepted = result_for(bob, "a1");
  ASSERT_TRUE(accepted);
  ASSERT_EQ((*accepted)["ok"], true) << accepted->dump();
  EXPECT_EQ((*accepted)["transfer"], id);
  EXPECT_EQ((*accepted)["direction"], "in");
  EXPECT_EQ((*accepted)["total_bytes"], big.size() + 11);

  auto sender_done = transfer_event(alice, "transfer_done", id, 60s);
  ASSERT_TRUE(sender_done) << grep_text(alice);
  EXPECT_EQ((*sender_done)["direction"], "out");
  auto receiver_done = transfer_event(bob, "transfer_done", id, 60s);
  ASSERT_TRUE(receiver_done) << grep_text(bob);
  ASSERT_EQ((*receiver_done)["files"].size(), 2u);
  for (const auto& file : (*receiver_done)["files"]) {
    EXPECT_EQ(file["sha256"].get<std::string>().size(), 64u);
    std::filesystem::path saved = file["path"].get<std::string>();
    if (saved.is_relative()) saved = (*receiver_done)["destination"].get<std::string>() / saved;
    const std::string content = read_file(saved);
    EXPECT_TRUE(content == big || content == "liner notes") << saved;
    EXPECT_EQ(content.size(), file["size"].get<std::size_t>());
  }
}

// Without a terminal the REPL prints each transfer line once and never a progress line.
TEST(IntegrationTransferCommands, PipedReplShowsTheOfferAndHowToAnswerIt) {
  TempDir root;
  Peer alice("alice", root);
  Process bob(
      {peerchat_binary(), "--name", "bob", "--port", "0", "--data-dir", (root / "bob").string(),
       "--download-dir", (root / "bob-downloads").string(), "--connect", alice.address()},
      root / "bob.err");
  ASSERT_TRUE(alice.wait_event("connected"));
  write_file(root / "send" / "a.txt", "hello");
  alice.command(R"({"id":"s1","cmd":"sendfile","peer":"bob","paths":[")" +
                (root / "send" / "a.txt").string() + R"("]})");
  auto sent = result_for(alice, "s1");
  ASSERT_TRUE(sent);
  ASSERT_EQ((*sent)["ok"], true) << sent->dump();
  const std::string short_id = (*sent)["transfer"].get<std::string>().substr(0, 8);
  std::string shown;
  const auto deadline = Clock::now() + 20s;
  while (shown.find("/decline " + short_id) == std::string::npos && Clock::now() < deadline) {
    if (auto line = bob.read_line(std::chrono::milliseconds(remaining_ms(deadline)))) {
      shown += *line + "\n";
    }
  }
  EXPECT_NE(shown.find("alice"), std::string::npos) << shown;
  EXPECT_NE(shown.find("/accept " + short_id + " [DIR]"), std::string::npos) << shown;
  EXPECT_NE(shown.find("a.txt"), std::string::npos) << shown;
  bob.write_line("/transfers");
  bob.write_line("/quit");
  while (auto line = bob.read_line(10s)) shown += *line + "\n";
  EXPECT_EQ(bob.wait_exit(10s), 0);
  EXPECT_NE(shown.find("transfer"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("%  "), std::string::npos) << shown;  // no progress line
  EXPECT_EQ(shown.find('\x1b'), std::string::npos);
}

// `peerchat send-file`: each outcome has its exit code.
class IntegrationSendFile : public ::testing::Test {
 protected:
  IntegrationSendFile() { write_file(root / "send" / "a.txt", "file for the one-shot"); }
  std::unique_ptr<Process> start(const std::string& to, std::vector<std::string> paths,
                                 std::vector<std::string> options = {}) {
    std::vector<std::string> args = {
        peerchat_binary(), "send-file", "--data-dir", sender_dir.string(),
        "--name",          "bot",       "--to",       to};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), paths.begin(), paths.end());
    return std::make_unique<Process>(args, root / ("send-file-" + std::to_string(++runs) + ".err"));
  }
  std::string a_txt() const { return (root / "send" / "a.txt").string(); }

  TempDir root;
  std::filesystem::path sender_dir = root / "sender";
  int runs = 0;
};

TEST_F(IntegrationSendFile, UnreachableMissingFileAndBadOptionsExitWithTheirCodes) {
  auto refused = start("127.0.0.1:1", {a_txt()});
  EXPECT_EQ(refused->wait_exit(20s), 5);
  EXPECT_FALSE(refused->stderr_text().empty());

  Peer bob("bob", root, {"--download-dir", (root / "bob-downloads").string()});
  auto missing = start(bob.address(), {(root / "send" / "nope.txt").string()});
  EXPECT_EQ(missing->wait_exit(20s), 2);
  EXPECT_NE(missing->stderr_text().find("not offered"), std::string::npos)
      << missing->stderr_text();
  EXPECT_EQ(bob.count("transfer_offered"), 0u);

  auto no_paths = run_to_end({peerchat_binary(), "send-file", "--to", bob.address()}, root);
  EXPECT_EQ(no_paths.exit_code, 2);
  auto bad_id = run_to_end(
      {peerchat_binary(), "--accept-files-from", "not-an-id", "--data-dir", (root / "x").string()},
      root);
  EXPECT_EQ(bad_id.exit_code, 2);
  EXPECT_NE(bad_id.err.find("--accept-files-from"), std::string::npos) << bad_id.err;
}

// Needs the service's find() (main).
TEST_F(IntegrationSendFile, DeclinedExitsEight) {
  Peer bob("bob", root, {"--download-dir", (root / "bob-downloads").string()});
  auto sender = start(bob.address(), {a_txt()});
  auto offered = bob.wait_event("transfer_offered", 20s);
  ASSERT_TRUE(offered);
  const std::string id = (*offered)["transfer"];
  bob.command(R"({"id":"d","cmd":"decline","transfer":")" + id + R"("})");
  auto declined = result_for(bob, "d");
  ASSERT_TRUE(declined);
  EXPECT_EQ((*declined)["ok"], true) << declined->dump();
  EXPECT_EQ(sender->wait_exit(20s), 8) << sender->stderr_text();
  EXPECT_NE(sender->stderr_text().find("declined"), std::string::npos) << sender->stderr_text();
}

// Needs the service's cancel() (main) for the receiver to hear it.
TEST_F(IntegrationSendFile, SigtermCancelsTheTransferAndExitsNine) {
  Peer bob("bob", root, {"--download-dir", (root / "bob-downloads").string()});
  auto sender = start(bob.address(), {a_txt()});
  auto offered = bob.wait_event("transfer_offered", 20s);
  ASSERT_TRUE(offered);
  const std::string id = (*offered)["transfer"];
  // The offer is out once bob has it; the sender then knows the transfer and cancels it.
  sender->signal(SIGTERM);
  EXPECT_EQ(sender->wait_exit(20s), 9) << sender->stderr_text();
  auto cancelled = transfer_event(bob, "transfer_cancelled", id);
  ASSERT_TRUE(cancelled) << grep_text(bob);
  EXPECT_EQ((*cancelled)["by"], "peer");
}

TEST_F(IntegrationSendFile, AnOfferNobodyAnswersWithinTheTimeoutIsWithdrawnAndExitsEleven) {
  Peer bob("bob", root, {"--download-dir", (root / "bob-downloads").string()});
  auto sender = start(bob.address(), {a_txt()}, {"--timeout", "1"});
  auto offered = bob.wait_event("transfer_offered", 20s);
  ASSERT_TRUE(offered);
  const std::string id = (*offered)["transfer"];
  EXPECT_EQ(sender->wait_exit(20s), 11) << sender->stderr_text();
  EXPECT_NE(sender->stderr_text().find("did not answer within 1 s"), std::string::npos)
      << sender->stderr_text();
  auto cancelled = transfer_event(bob, "transfer_cancelled", id);
  ASSERT_TRUE(cancelled) << grep_text(bob);
  EXPECT_EQ((*cancelled)["by"], "peer");
}

// Needs the service's accept half (main): --accept-files-from takes the offer without asking.
TEST_F(IntegrationSendFile, AnAutoAcceptedTransferExitsZeroOnceVerified) {
  auto sender_id = run_to_end({peerchat_binary(), "id", "--data-dir", sender_dir.string()}, root);
  ASSERT_EQ(sender_id.exit_code, 0);
  std::string id_text = sender_id.out.substr(0, sender_id.out.find('\n'));
  const auto downloads = root / "bob-downloads";
  Peer bob("bob", root, {"--download-dir", downloads.string(), "--accept-files-from", id_text});
  auto sender = start(bob.address(), {a_txt()});
  EXPECT_EQ(sender->wait_exit(60s), 0) << sender->stderr_text();
  auto done = bob.wait_event("transfer_done", 20s);
  ASSERT_TRUE(done) << grep_text(bob);
  EXPECT_EQ((*done)["direction"], "in");
  std::filesystem::path saved = (*done)["files"][0]["path"].get<std::string>();
  if (saved.is_relative()) saved = downloads / saved;
  EXPECT_EQ(read_file(saved), "file for the one-shot");
}

}  // namespace
}  // namespace peerchat::testing
