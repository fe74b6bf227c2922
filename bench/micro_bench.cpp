// bench: Google Benchmark micro benchmarks of the per-message hot path: encoding a CHAT,
// splitting a stream into frames, decoding a CHAT, and a whole CHAT through two back-to-back
// protocol state machines (encode, decode, credit, ACK) without sockets or TLS.
#include <benchmark/benchmark.h>

#include "session/protocol.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

namespace peerchat {
namespace {

wire::Chat sample_chat() {
  wire::Chat chat;
  chat.id.fill(7);
  chat.seq = 42;
  chat.timestamp_ms = 1'700'000'000'000;
  chat.text = std::string(100, 'x');
  return chat;
}

void EncodeChat(benchmark::State& state) {
  const auto chat = sample_chat();
  wire::Bytes out;
  out.reserve(1 << 20);
  for (auto _ : state) {
    if (out.size() > (1 << 19)) out.clear();
    wire::encode(out, chat);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(EncodeChat);

void SplitAndDecodeChat(benchmark::State& state) {
  wire::Bytes stream;
  const auto chat = sample_chat();
  for (int i = 0; i < 1000; ++i) wire::encode(stream, chat);
  for (auto _ : state) {
    wire::FrameDecoder decoder;
    decoder.feed(stream);
    std::size_t frames = 0;
    for (auto frame = decoder.next(); frame && frame.value(); frame = decoder.next()) {
      auto decoded = wire::decode_chat((*frame)->payload);
      benchmark::DoNotOptimize(decoded);
      ++frames;
    }
    benchmark::DoNotOptimize(frames);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(SplitAndDecodeChat);

struct Acker final : session::ProtocolListener {
  void on_hello(const wire::Hello&) override {}
  void on_stream_data(std::uint32_t, std::span<const std::uint8_t> data) override {
    streamed += data.size();
    if (protocol != nullptr) protocol->consume_stream(data.size());
  }
  std::size_t streamed = 0;
  void on_chat(wire::Chat&& chat) override {
    if (protocol != nullptr) protocol->acknowledge(chat.seq, 1);
  }
  void on_ack(std::uint64_t seq) override { acked = seq; }
  void on_credit() override {}
  void on_close(const session::CloseReason&) override {}
  session::Protocol* protocol = nullptr;
  std::uint64_t acked = 0;
};

void MoveBytes(session::Protocol& from, session::Protocol& to, wire::Bytes& buffer) {
  from.take_output(buffer);
  auto room = to.prepare_read(buffer.size());
  std::copy(buffer.begin(), buffer.end(), room.begin());
  to.commit_read(buffer.size());
  to.process();
}

// One CHAT per iteration through sender and receiver state machines, batched 256 at a time as
// the real reader does, including the ACK and CREDIT coming back.
// A sender and a receiver state machine with both HELLOs exchanged.
struct OpenPair {
  explicit OpenPair(const session::ProtocolConfig& config)
      : sender(config, clock, random, sender_events),
        receiver(config, clock, random, receiver_events) {
    receiver_events.protocol = &receiver;
    sender.start();
    receiver.start();
    MoveBytes(sender, receiver, buffer);
    MoveBytes(receiver, sender, buffer);
  }
  FakeClock clock;
  FakeRandom random;
  Acker sender_events;
  Acker receiver_events;
  session::Protocol sender;
  session::Protocol receiver;
  wire::Bytes buffer;
};

void ProtocolHotPath(benchmark::State& state) {
  session::ProtocolConfig config;
  config.name = "bench";
  config.receive_window = 4096;
  OpenPair pair(config);
  auto& sender = pair.sender;
  auto& receiver = pair.receiver;
  auto& buffer = pair.buffer;
  auto& sender_events = pair.sender_events;
  auto chat = sample_chat();
  std::uint64_t seq = 0;
  for (auto _ : state) {
    for (int i = 0; i < 256; ++i) {
      chat.seq = ++seq;
      sender.send_chat(chat);
    }
    MoveBytes(sender, receiver, buffer);
    MoveBytes(receiver, sender, buffer);
  }
  state.SetItemsProcessed(state.iterations() * 256);
  if (sender_events.acked != seq) state.SkipWithError("messages were not all acknowledged");
}
BENCHMARK(ProtocolHotPath);

// Bulk stream data through both state machines: 1 MiB per iteration written by the
// application, framed in 64 KiB chunks, split and delivered on the other side, credit returned.
// (The bytes are copied once into the receiver's buffer here, as a socket read would.)
void StreamPath(benchmark::State& state) {
  session::ProtocolConfig config;
  config.name = "bench";
  config.offer_streams = true;
  OpenPair pair(config);
  auto& sender = pair.sender;
  auto& receiver = pair.receiver;
  auto& buffer = pair.buffer;
  auto& receiver_events = pair.receiver_events;
  const auto stream = sender.open_stream("bench", wire::kUnknownStreamSize).value();
  const std::vector<std::uint8_t> data(1 << 20, 0x42);
  for (auto _ : state) {
    for (std::size_t written = 0; written < data.size();) {
      written += sender.write_stream(stream, std::span(data).subspan(written));
      while (sender.has_output()) MoveBytes(sender, receiver, buffer);
      MoveBytes(receiver, sender, buffer);  // credit back
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * (1 << 20));
  if (receiver_events.streamed != static_cast<std::size_t>(state.iterations()) * data.size()) {
    state.SkipWithError("stream data was lost");
  }
}
BENCHMARK(StreamPath);

}  // namespace
}  // namespace peerchat

BENCHMARK_MAIN();
