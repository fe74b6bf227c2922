// Fuzz target: a session's state machine fed arbitrary bytes from a peer, as a TLS connection
// would deliver them after the handshake: HELLO rules, credit, ACKs, BYE, keepalive.
#include <cstddef>
#include <cstdint>

#include "session/protocol.hpp"

namespace {

using namespace peerchat;

struct Listener final : session::ProtocolListener {
  void on_hello(const wire::Hello&) override {}
  void on_chat(wire::Chat&& chat) override {
    if (protocol != nullptr) protocol->acknowledge(chat.seq, 1);
  }
  void on_ack(std::uint64_t) override {}
  void on_credit() override {}
  void on_close(const session::CloseReason&) override {}
  session::Protocol* protocol = nullptr;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FakeClock clock;
  FakeRandom random;
  Listener listener;
  session::Protocol protocol(session::ProtocolConfig{"fuzz", 1, 8}, clock, random, listener);
  listener.protocol = &protocol;
  protocol.start();
  // Deliver in reads of varying size (taken from the input itself), with time passing between.
  std::size_t offset = 0;
  while (offset < size && protocol.state() != session::State::closed) {
    const std::size_t read = 1 + data[offset] % 64;
    const std::size_t take = std::min(read, size - offset);
    auto room = protocol.prepare_read(take);
    std::copy(data + offset, data + offset + take, room.begin());
    protocol.commit_read(take);
    protocol.process();
    offset += take;
    clock.advance(std::chrono::seconds(data[offset - 1] % 8));
    protocol.on_timer();
    if (protocol.can_send_chat()) {
      wire::Chat chat;
      chat.seq = offset;
      protocol.send_chat(chat);
    }
    wire::Bytes out;
    protocol.take_output(out);
  }
  return 0;
}
