// Fuzz target: arbitrary bytes from a peer through the frame splitter and every message decoder.
// Built with clang -fsanitize=fuzzer (PEERCHAT_FUZZ=ON); replayed over its corpus in every build.
#include <cstddef>
#include <cstdint>

#include "wire/frame.hpp"
#include "wire/messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace peerchat::wire;
  FrameDecoder decoder(64 * 1024);  // a smaller limit reaches the limit checks more often
  // Feed in two parts, so frames split across reads are covered too.
  const std::size_t half = size / 2;
  for (const auto& part : {std::span<const std::uint8_t>(data, half),
                           std::span<const std::uint8_t>(data + half, size - half)}) {
    decoder.feed(part);
    for (int guard = 0; guard < 100'000; ++guard) {
      auto frame = decoder.next();
      if (!frame) return 0;  // a bad length ends the stream, as in a session
      if (!frame.value()) break;
      const auto payload = (*frame)->payload;
      switch (static_cast<FrameType>((*frame)->type)) {
        case FrameType::hello:
          (void)decode_hello(payload);
          break;
        case FrameType::credit:
          (void)decode_credit(payload);
          break;
        case FrameType::chat:
          (void)decode_chat(payload);
          break;
        case FrameType::ack:
          (void)decode_ack(payload);
          break;
        case FrameType::bye:
          (void)decode_bye(payload);
          break;
        case FrameType::ping:
          (void)decode_ping(payload);
          break;
        case FrameType::pong:
          (void)decode_pong(payload);
          break;
        default:
          break;
      }
    }
  }
  return 0;
}
