// session: test support shared by the protocol and stream tests: a listener that records
// everything, a Side (Protocol + Recorder with small stream limits), and byte movers.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "session/protocol.hpp"
#include "wire/streams.hpp"

namespace peerchat::session::testing {

// The small stream limits every Side uses, so tests reach their edges.
inline constexpr std::size_t kWindow = 64 * 1024;
inline constexpr std::size_t kChunk = 4096;
inline constexpr std::size_t kSendBuffer = 16 * 1024;

struct Recorder final : ProtocolListener {
  void on_hello(const wire::Hello& hello) override { hellos.push_back(hello); }
  void on_chat(wire::Chat&& chat) override {
    chats.push_back(chat);
    if (auto_ack && protocol != nullptr) protocol->acknowledge(chat.seq, 1);
  }
  void on_ack(std::uint64_t seq) override { acks.push_back(seq); }
  void on_credit() override { ++credits; }
  void on_close(const CloseReason& reason) override { closes.push_back(reason); }

  void on_stream_open(const wire::StreamOpen& open) override { opens.push_back(open); }
  void on_stream_data(std::uint32_t stream, std::span<const std::uint8_t> data) override {
    auto& bytes = received[stream];
    bytes.insert(bytes.end(), data.begin(), data.end());
    data_order.push_back(stream);
    delivered += data.size();
    largest_chunk = std::max(largest_chunk, data.size());
    if (auto_consume && protocol != nullptr) protocol->consume_stream(data.size());
  }
  void on_stream_end(const wire::StreamEnd& end) override { ends.push_back(end); }
  void on_stream_stopped(const wire::StreamStop& stop) override { stopped.push_back(stop); }
  void on_stream_writable() override { ++writable; }

  const wire::StreamEnd* end_of(std::uint32_t stream) const {
    for (const auto& end : ends) {
      if (end.stream == stream) return &end;
    }
    return nullptr;
  }

  Protocol* protocol = nullptr;
  bool auto_ack = true;
  bool auto_consume = true;  // call consume_stream as soon as data arrives
  std::vector<wire::Hello> hellos;
  std::vector<wire::Chat> chats;
  std::vector<std::uint64_t> acks;
  int credits = 0;
  std::vector<CloseReason> closes;

  std::vector<wire::StreamOpen> opens;
  std::map<std::uint32_t, wire::Bytes> received;  // data per stream ID, in arrival order
  std::vector<std::uint32_t> data_order;          // stream ID of each on_stream_data call
  std::size_t delivered = 0;                      // data bytes over all streams
  std::size_t largest_chunk = 0;
  std::vector<wire::StreamEnd> ends;
  std::vector<wire::StreamStop> stopped;
  int writable = 0;
};

struct Side {
  static ProtocolConfig config(std::string name, bool streams, std::uint32_t window) {
    ProtocolConfig config;
    config.name = std::move(name);
    config.listen_port = 7001;
    config.receive_window = window;
    config.offer_streams = streams;
    config.streams.receive_window = kWindow;
    config.streams.max_chunk = kChunk;
    config.streams.send_buffer = kSendBuffer;
    return config;
  }
  Side(std::string name, const Clock& clock, Random& random, bool streams = false,
       std::uint32_t window = 8)
      : protocol(config(std::move(name), streams, window), clock, random, recorder) {
    recorder.protocol = &protocol;
  }
  Recorder recorder;
  Protocol protocol;
};

// Moves bytes both ways until neither side has output left (bounded).
inline void pump(Side& a, Side& b) {
  wire::Bytes buffer;
  for (int round = 0; round < 1000; ++round) {
    bool moved = false;
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      if (!from->protocol.has_output()) continue;
      from->protocol.take_output(buffer);
      if (to->protocol.state() == State::closed) continue;
      auto room = to->protocol.prepare_read(buffer.size());
      std::copy(buffer.begin(), buffer.end(), room.begin());
      to->protocol.commit_read(buffer.size());
      to->protocol.process();
      moved = true;
    }
    if (!moved) return;
  }
  FAIL() << "the two sides never went quiet";
}

// Feeds raw bytes to one side, as a misbehaving peer (or a held-back network) would.
inline void inject(Side& to, const wire::Bytes& bytes) {
  auto room = to.protocol.prepare_read(bytes.size());
  std::copy(bytes.begin(), bytes.end(), room.begin());
  to.protocol.commit_read(bytes.size());
  to.protocol.process();
}

// Starts both and exchanges HELLOs; both must be open afterwards.
inline void open_pair(Side& a, Side& b) {
  a.protocol.start();
  b.protocol.start();
  pump(a, b);
  ASSERT_EQ(a.protocol.state(), State::open);
  ASSERT_EQ(b.protocol.state(), State::open);
}

inline wire::Chat make_chat(std::uint64_t seq, std::string text, std::int64_t wall_ms) {
  wire::Chat message;
  message.id.fill(static_cast<std::uint8_t>(seq));
  message.seq = seq;
  message.timestamp_ms = wall_ms;
  message.text = std::move(text);
  return message;
}

}  // namespace peerchat::session::testing
