// The rest of the hostile-peer list: slow senders, truncated frames then FIN or RST, thousands
// of connections that never start TLS, handshake bursts, a frozen peer. In each case an honest
// peer keeps chatting and the victim's memory stays bounded.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "tls_client.hpp"
#include "wire/frame.hpp"

namespace peerchat::testing {
namespace {

// Bob sends a line and Alice must receive it: the honest path still works.
void still_chatting(Peer& alice, Peer& bob, const std::string& text) {
  ASSERT_TRUE(relays(bob, alice, text)) << text;
}

TEST(IntegrationAdversarial, SlowAndTruncatedSendersAreDroppedOthersCarryOn) {
  TempDir root;
  Peer alice("alice", root, {"--handshake-timeout", "2"});
  Peer bob("bob", root, {"--connect", alice.address()});
  ASSERT_TRUE(both_connected(alice, bob));

  // Byte-at-a-time, one every 200 ms: a TLS ClientHello (its record says 512 bytes) that never
  // completes. It must be cut at the handshake deadline (2 s) while it is still sending; a
  // deadline that each byte pushed back would never cut it.
  RawSocket slow(alice.port(), "127.0.0.5");
  ASSERT_TRUE(slow.connected());
  std::string trickle("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  trickle += std::string(40, 'r');  // the ClientHello's random, and on: 10 s at this pace
  bool cut = false;
  std::size_t sent = 0;
  while (sent < trickle.size() && !cut) {
    slow.send(trickle.substr(sent++, 1));  // fails once the victim has closed; that is seen next
    cut = slow.closed_by_peer(200ms);
  }
  EXPECT_TRUE(cut) << "a slow sender outlived the handshake deadline (" << sent << " bytes)";
  still_chatting(alice, bob, "after the slow sender");

  // An authenticated peer sends half a CHAT, then FIN; another the same, then RST. The victim
  // must notice and drop each (it reports the session as lost), not keep the half frame.
  for (bool abrupt : {false, true}) {
    std::string id;
    {
      TlsClient truncated(alice.port(), root / (abrupt ? "rst" : "fin"));
      ASSERT_TRUE(truncated.handshake_ok()) << truncated.handshake_error();
      id = truncated.id();
      ASSERT_TRUE(truncated.send_hello(abrupt ? "rst" : "fin"));
      ASSERT_TRUE(alice.wait_for(
          [&](const json& e) { return e["event"] == "connected" && e.value("peer", "") == id; }));
      wire::Bytes chat;
      wire::encode(chat, wire::Chat{{}, 1, 0, std::string(500, 'x')});
      chat.resize(chat.size() / 2);
      ASSERT_TRUE(truncated.send(chat));
      if (abrupt) truncated.reset();
    }  // FIN, unless reset
    auto dropped = alice.wait_for(
        [&](const json& e) { return e["event"] == "disconnected" && e.value("peer", "") == id; });
    ASSERT_TRUE(dropped) << (abrupt ? "RST" : "FIN");
    EXPECT_EQ((*dropped)["reason"], "connection_lost") << (abrupt ? "RST" : "FIN");
  }
  still_chatting(alice, bob, "after truncated frames");
  EXPECT_FALSE(alice.process().wait_exit(0ms).has_value());
  expect_bounded_memory(alice, "slow and truncated senders");
}

// Raises this process's soft limit on open descriptors to `wanted` if it is lower, as far as
// the hard limit allows; true if `wanted` descriptors may now be open.
bool allow_open_files(rlim_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= wanted) return true;
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  return ::setrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur >= wanted;
}

TEST(IntegrationAdversarial, TwoThousandConnectionsThatNeverStartTls) {
  constexpr std::size_t kSockets = 2000;
  // 32 sources x 16 (the per-address cap) is more than 256, so the global cap is what binds.
  constexpr std::size_t kSources = 32;
  constexpr std::size_t kGlobalCap = 256;  // NodeConfig::max_unauthenticated
  ASSERT_TRUE(allow_open_files(kSockets + 256))
      << "this test opens " << kSockets << " sockets; raise the hard limit (ulimit -Hn)";
  TempDir root;
  Peer alice("alice", root);
  Peer bob("bob", root, {"--connect", alice.address()});
  ASSERT_TRUE(both_connected(alice, bob));
  std::vector<std::unique_ptr<RawSocket>> sockets;
  for (std::size_t i = 0; i < kSockets; ++i) {
    // Spread over a few source addresses, as a small botnet on one host would.
    sockets.push_back(
        std::make_unique<RawSocket>(alice.port(), "127.0.1." + std::to_string(1 + i % kSources)));
    ASSERT_TRUE(sockets.back()->connected()) << "socket " << i;
  }
  // The victim holds the first 256 until the handshake deadline (10 s) and closes the others
  // as it accepts them.
  EXPECT_EQ(RawSocket::count_closed_by_peer(sockets, kSockets - kGlobalCap, 5s),
            kSockets - kGlobalCap);
  still_chatting(alice, bob, "while 2,000 sockets sit idle");
  alice.command("/peers");
  auto peers = alice.wait_event("peers");
  ASSERT_TRUE(peers);
  EXPECT_EQ((*peers)["peers"].size(), 1u);
  // 24 MiB is seen with 256 held, over 100 MiB if every socket were held.
  expect_bounded_memory(alice, "2,000 idle sockets", 48);
}

TEST(IntegrationAdversarial, HandshakeBurstFromOneSource) {
  TempDir root;
  Peer alice("alice", root);
  Peer bob("bob", root, {"--connect", alice.address()});
  ASSERT_TRUE(both_connected(alice, bob));
  // 8 threads x 25 full handshakes each, as fast as they can.
  std::vector<std::thread> flood;
  std::atomic<int> completed{0};
  for (int t = 0; t < 8; ++t) {
    flood.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        TlsClient client(alice.port(), root / ("flood" + std::to_string(t)));
        if (client.handshake_ok()) ++completed;
      }
    });
  }
  still_chatting(alice, bob, "during a handshake burst");
  for (auto& thread : flood) thread.join();
  still_chatting(alice, bob, "after a handshake burst");
  std::cout << completed << " of 200 burst handshakes completed\n";
  // At most 8 at a time from 127.0.0.1 is under the per-address cap (16): none is refused.
  EXPECT_EQ(completed.load(), 200);
  expect_bounded_memory(alice, "a burst of 200 handshakes");
}

TEST(IntegrationAdversarial, FrozenPeerIsDeclaredDeadOthersCarryOn) {
  TempDir root;
  // Dead after 3 s of silence; the handshake deadline far beyond, so that detection cannot come
  // from a watchdog that slept to that deadline.
  Peer alice("alice", root, {"--keepalive", "1", "--handshake-timeout", "60"});
  Peer bob("bob", root, {"--connect", alice.address()});
  Peer carol("carol", root, {"--connect", alice.address()});
  ASSERT_TRUE(both_connected(alice, bob));
  ASSERT_TRUE(both_connected(alice, carol));
  carol.process().signal(SIGSTOP);
  // Alice keeps writing to the frozen peer; only its own queue fills.
  for (int i = 0; i < 200; ++i) alice.command("/msg carol into the void " + std::to_string(i));
  still_chatting(alice, bob, "while carol is frozen");
  auto dead = alice.wait_for(
      [&](const json& e) { return e["event"] == "disconnected" && e["peer"] == carol.id(); }, 30s);
  carol.process().signal(SIGCONT);
  ASSERT_TRUE(dead);
  EXPECT_EQ((*dead)["reason"], "timeout");
  still_chatting(alice, bob, "after carol was dropped");
  expect_bounded_memory(alice, "a frozen peer");
}

}  // namespace
}  // namespace peerchat::testing

namespace peerchat::testing {
namespace {

double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may contain spaces) start after the last ')'.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long ticks = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14 || index == 15) ticks += std::stol(field);  // utime, stime
    if (index == 15) break;
  }
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

TEST(IntegrationAdversarial, OutOfFileDescriptorsNoSpinAndRecovery) {
  TempDir root;
  // The victim may hold only 48 descriptors.
  Process victim({"/usr/bin/prlimit", "--nofile=48:48", peerchat_binary(), "--json", "--name",
                  "alice", "--port", "0", "--data-dir", (root / "alice").string()},
                 root / "alice.err");
  auto ready = victim.read_line(15s);
  ASSERT_TRUE(ready);
  const int port = json::parse(*ready)["port"].get<int>();

  {
    // 60 idle sockets from 10 addresses (6 each, under the per-address cap) exhaust them.
    std::vector<std::unique_ptr<RawSocket>> flood;
    for (int i = 0; i < 60; ++i) {
      flood.push_back(std::make_unique<RawSocket>(port, "127.0.2." + std::to_string(1 + i % 10)));
      ASSERT_TRUE(flood.back()->connected()) << "socket " << i;  // the kernel's backlog accepts
    }
    ASSERT_TRUE(victim.wait_stderr("accepting a connection failed", 10s)) << victim.stderr_text();
    // Spinning is a rate, so it takes a window to see: a spinning loop burns most of it.
    const double before = cpu_seconds(victim.pid());
    std::this_thread::sleep_for(2s);
    const double used = cpu_seconds(victim.pid()) - before;
    std::cout << "victim CPU while out of descriptors: " << used << " s in 2 s\n";
    EXPECT_LT(used, 0.5) << "the accept loop spins on EMFILE";
  }  // the flood disconnects

  // Once the descriptors come back, the victim serves an honest peer again.
  Peer bob("bob", root, {"--connect", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(bob.wait_event("connected", 15s)) << victim.stderr_text();
}

}  // namespace
}  // namespace peerchat::testing
