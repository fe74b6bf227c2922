// Fuzz target: each message decoder on its own payload. The first byte picks the decoder; a
// decoded message is encoded again and must decode to the same fields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/frame.hpp"
#include "wire/messages.hpp"

namespace {

using namespace peerchat::wire;

template <class T, class Decode>
void round_trip(std::span<const std::uint8_t> payload, Decode decode) {
  auto first = decode(payload);
  if (!first) return;
  Bytes frame;
  encode(frame, first.value());
  auto second = decode(std::span<const std::uint8_t>(frame).subspan(kHeaderSize + 1));
  if (!second) std::abort();  // what we encode we must be able to decode
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> payload(data + 1, size - 1);
  switch (data[0] % 7) {
    case 0:
      round_trip<Hello>(payload, decode_hello);
      break;
    case 1:
      round_trip<Credit>(payload, decode_credit);
      break;
    case 2:
      round_trip<Chat>(payload, decode_chat);
      break;
    case 3:
      round_trip<Ack>(payload, decode_ack);
      break;
    case 4:
      round_trip<Bye>(payload, decode_bye);
      break;
    case 5:
      round_trip<Ping>(payload, decode_ping);
      break;
    case 6:
      round_trip<Pong>(payload, decode_pong);
      break;
  }
  return 0;
}
