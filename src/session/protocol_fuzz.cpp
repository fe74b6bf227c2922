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
  void on_stream_data(std::uint32_t, std::span<const std::uint8_t> data) override {
    if (protocol != nullptr) protocol->consume_stream(data.size());
  }
  session::Protocol* protocol = nullptr;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FakeClock clock;
  FakeRandom random;
  Listener listener;
  session::ProtocolConfig config;
  config.name = "fuzz";
  config.listen_port = 1;
  config.receive_window = 8;
  config.offer_streams = true;  // a HELLO in the input may agree to them
  config.streams.receive_window = 4096;
  config.streams.max_chunk = 100;
  session::Protocol protocol(config, clock, random, listener);
  listener.protocol = &protocol;
  protocol.start();
  std::uint32_t stream = 0;
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
    if (protocol.streams_enabled() && stream == 0) {
      if (auto opened = protocol.open_stream("fuzz", 1000)) stream = *opened;
    }
    if (stream != 0) {
      protocol.write_stream(stream, {data, offset});
      if (data[offset - 1] % 5 == 0) protocol.end_stream(stream);
    }
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
