// Test support for node tests: a recording event sink, and a scripted peer whose every byte on
// the wire the test places (TLS records sealed into memory, then written whole or cut).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <stdlib.h>

#include <filesystem>

#include "node/node.hpp"
#include "store/store.hpp"
#include "tcp_table.hpp"
#include "tls/context.hpp"
#include "tls/identity.hpp"
#include "wire/frame.hpp"

namespace peerchat::node::testing {

using namespace std::chrono_literals;

class RecordingSink final : public EventSink {
 public:
  void emit(const Event& event) override { events.push_back(event); }
  template <class T>
  std::vector<T> all() const {
    std::vector<T> found;
    for (const auto& event : events) {
      if (const auto* match = std::get_if<T>(&event)) found.push_back(*match);
    }
    return found;
  }
  std::vector<event::Message> messages_from(const tls::PeerId& peer) const {
    std::vector<event::Message> found;
    for (const auto& event : events) {
      if (const auto* message = std::get_if<event::Message>(&event);
          message != nullptr && message->peer == peer) {
        found.push_back(*message);
      }
    }
    return found;
  }
  std::size_t count_messages() const {
    return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [](const auto& e) {
      return std::holds_alternative<event::Message>(e);
    }));
  }
  bool disconnected(const tls::PeerId& peer) const {
    return std::any_of(events.begin(), events.end(), [&](const auto& e) {
      const auto* gone = std::get_if<event::Disconnected>(&e);
      return gone != nullptr && gone->peer == peer;
    });
  }
  bool connected(const tls::PeerId& peer) const {
    return std::any_of(events.begin(), events.end(), [&](const auto& e) {
      const auto* here = std::get_if<event::Connected>(&e);
      return here != nullptr && here->peer.id == peer;
    });
  }
  std::vector<Event> events;
};

// Bytes the kernel holds for the node, unread, on the connection from local port `client_port`
// to the node's `node_port`. 0 once the node's reader has taken everything that peer sent.
inline long unread_by_node(std::uint16_t node_port, std::uint16_t client_port) {
  for (const auto& socket : peerchat::testing::tcp_sockets()) {
    if (socket.local_port == node_port && socket.remote_port == client_port) {
      return socket.unread_bytes;
    }
  }
  return -1;
}

// A peer whose every byte on the wire the test places: TLS 1.3 with its own identity, then
// HELLO, then CHAT records sealed into memory and written (or cut) by hand.
class ScriptedPeer {
 public:
  // A new identity of its own, or `identity` (several connections of one peer).
  ScriptedPeer(std::uint16_t port, std::string name,
               std::shared_ptr<const tls::Identity> identity = nullptr)
      : name_(std::move(name)), identity_(std::move(identity)) {
    if (!identity_) {
      identity_ =
          std::make_shared<const tls::Identity>(std::move(tls::Identity::generate().value()));
    }
    context_ = SSL_CTX_new(TLS_method());
    EXPECT_TRUE(tls::configure_context(context_, *identity_, tls::Role::client).ok());
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    ::connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof remote);  // EINPROGRESS
    ssl_ = SSL_new(context_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_connect_state(ssl_);
  }
  ~ScriptedPeer() {
    SSL_free(ssl_);
    SSL_CTX_free(context_);
    if (fd_ >= 0) ::close(fd_);
  }
  ScriptedPeer(const ScriptedPeer&) = delete;
  ScriptedPeer& operator=(const ScriptedPeer&) = delete;

  // One non-blocking handshake step; true once TLS is done and HELLO has gone out.
  bool handshake_step() {
    if (sealing_) return true;
    if (SSL_do_handshake(ssl_) != 1) return false;
    wire::Bytes hello;
    wire::encode(hello, wire::Hello{wire::kProtocolVersion, 0, 0, name_});
    EXPECT_EQ(SSL_write(ssl_, hello.data(), static_cast<int>(hello.size())),
              static_cast<int>(hello.size()));
    // From now on records are sealed into memory; the test writes them to the socket.
    SSL_set0_wbio(ssl_, BIO_new(BIO_s_mem()));
    sealing_ = true;
    grant(64);
    return true;
  }

  // CHAT frames for `texts`, numbered on from the last one, sealed as one TLS record.
  std::string seal_chats(const std::vector<std::string>& texts) {
    wire::Bytes frames;
    for (const auto& text : texts) {
      wire::Chat chat;
      chat.seq = ++seq_;
      chat.id[0] = static_cast<std::uint8_t>(seq_);
      chat.id[15] = static_cast<std::uint8_t>(name_[0]);
      chat.timestamp_ms = 1'700'000'000'000;
      chat.text = text;
      wire::encode(frames, chat);
    }
    return seal(frames);
  }

  // `frames` as one TLS record, not yet written.
  std::string seal(const wire::Bytes& frames) {
    EXPECT_EQ(SSL_write(ssl_, frames.data(), static_cast<int>(frames.size())),
              static_cast<int>(frames.size()));
    std::string record(static_cast<std::size_t>(BIO_ctrl_pending(SSL_get_wbio(ssl_))), '\0');
    EXPECT_EQ(BIO_read(SSL_get_wbio(ssl_), record.data(), static_cast<int>(record.size())),
              static_cast<int>(record.size()));
    return record;
  }

  void write_raw(std::string_view bytes) {
    EXPECT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  // The highest sequence number the node has acknowledged so far (reads what arrived).
  std::uint64_t acknowledged() {
    read_available();
    return acked_;
  }
  // Texts of the CHATs the node sent on this connection so far (reads what arrived).
  const std::vector<std::string>& chats() {
    read_available();
    return chats_;
  }
  // True once the node has opened the session (its first CREDIT follows our HELLO).
  bool opened() {
    read_available();
    return credited_;
  }
  // True once the node sent BYE on this connection (reads what arrived).
  bool got_bye() {
    read_available();
    return bye_;
  }
  // Lets the node send `count` more CHATs on this connection.
  void grant(std::uint32_t count) {
    wire::Bytes frame;
    wire::encode(frame, wire::Credit{count});
    write_raw(seal(frame));
  }
  void reset() {
    linger abort{1, 0};  // close() then sends RST
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    ::close(fd_);
    fd_ = -1;
  }

  tls::PeerId id() const { return identity_->id(); }
  const std::shared_ptr<const tls::Identity>& identity() const { return identity_; }
  std::uint16_t local_port() const {
    sockaddr_in local{};
    socklen_t size = sizeof local;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &size);
    return ntohs(local.sin_port);
  }

 private:
  void read_available() {
    char buffer[16384];
    for (int guard = 0; guard < 64; ++guard) {
      const int got = SSL_read(ssl_, buffer, sizeof buffer);
      if (got <= 0) break;
      auto room = decoder_.prepare(static_cast<std::size_t>(got));
      std::memcpy(room.data(), buffer, static_cast<std::size_t>(got));
      decoder_.commit(static_cast<std::size_t>(got));
    }
    for (int guard = 0; guard < 10'000; ++guard) {
      auto frame = decoder_.next();
      if (!frame || !frame.value()) break;
      const auto type = static_cast<wire::FrameType>((*frame)->type);
      if (type == wire::FrameType::ack) {
        if (auto ack = wire::decode_ack((*frame)->payload)) acked_ = std::max(acked_, ack->seq);
      } else if (type == wire::FrameType::chat) {
        if (auto chat = wire::decode_chat((*frame)->payload)) chats_.push_back(chat->text);
      } else if (type == wire::FrameType::credit) {
        credited_ = true;
      } else if (type == wire::FrameType::bye) {
        bye_ = true;
      }
    }
  }

  std::string name_;
  std::shared_ptr<const tls::Identity> identity_;
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool sealing_ = false;
  std::uint64_t seq_ = 0;
  std::uint64_t acked_ = 0;
  std::vector<std::string> chats_;
  bool bye_ = false;
  bool credited_ = false;
  wire::FrameDecoder decoder_;
};

// One node under test, on this thread's io_context, and scripted peers dialing it.
class ScriptedPeersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/peerchat-fan-in-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    // Not among the lowest 1/16 of IDs, so that a test looking for a peer identity that sorts
    // below the node's finds one quickly (DuplicatesTest: 200 tries failed one run in ~200).
    const tls::PeerId low(std::array<std::uint8_t, 32>{0x10});
    for (int attempt = 0; attempt < 64 && (!identity_ || identity_->id() < low); ++attempt) {
      identity_.emplace(std::move(tls::Identity::generate().value()));
    }
    store_ = std::move(store::Store::open(root_ / "peerchat.db").value());
    NodeConfig config;
    config.name = "receiver";
    config.port = 0;
    config.redial = false;
    node_ = std::make_unique<Node>(io_, config, *identity_, *store_, clock_, random_, sink_);
    ASSERT_TRUE(node_->listen().ok());
  }
  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(root_);
  }
  // Runs the node's loop until `done` holds or 10 s pass.
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(2ms);
      if (io_.stopped()) io_.restart();
    }
    return done();
  }
  // A scripted peer that has completed TLS and HELLO, and whose session the node has opened.
  std::unique_ptr<ScriptedPeer> join(const std::string& name,
                                     std::shared_ptr<const tls::Identity> identity = nullptr) {
    auto peer = std::make_unique<ScriptedPeer>(node_->port(), name, std::move(identity));
    EXPECT_TRUE(run_until([&] { return peer->handshake_step() && peer->opened(); }));
    return peer;
  }
  // Waits until the node's reader has taken every byte `peer` wrote so far.
  bool node_has_read(ScriptedPeer& peer) {
    return run_until([&] { return unread_by_node(node_->port(), peer.local_port()) == 0; });
  }
  std::vector<std::string> texts_from(const tls::PeerId& peer) const {
    std::vector<std::string> texts;
    for (const auto& message : sink_.messages_from(peer)) texts.push_back(message.text);
    return texts;
  }
  std::vector<std::string> stored_from(const tls::PeerId& peer) const {
    std::vector<std::string> texts;
    auto history = store_->history(peer.bytes(), 100);
    EXPECT_TRUE(history.ok());
    if (!history) return texts;
    for (const auto& message : *history) {
      if (!message.outgoing) texts.push_back(message.text);
    }
    return texts;
  }

  asio::io_context io_;
  std::filesystem::path root_;
  SystemClock clock_;
  SystemRandom random_;
  RecordingSink sink_;
  std::optional<tls::Identity> identity_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Node> node_;
};

}  // namespace peerchat::node::testing
