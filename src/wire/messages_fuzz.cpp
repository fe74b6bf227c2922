// Fuzz target: each message decoder (stream frames included) on its own payload. The first byte
// picks the decoder; a decoded message is encoded again and must decode to the same fields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/frame.hpp"
#include "wire/messages.hpp"
#include "wire/streams.hpp"

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
  switch (data[0] % 12) {
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
    case 7:
      round_trip<StreamOpen>(payload, decode_stream_open);
      break;
    case 8:
      round_trip<StreamEnd>(payload, decode_stream_end);
      break;
    case 9:
      round_trip<StreamStop>(payload, decode_stream_stop);
      break;
    case 10:
      round_trip<StreamCredit>(payload, decode_stream_credit);
      break;
    case 11: {
      std::span<const std::uint8_t> bytes;
      auto header = decode_stream_data(payload, bytes);
      if (!header) break;
      Bytes frame;
      encode_stream_data_header(frame, header->stream, bytes.size());
      frame.insert(frame.end(), bytes.begin(), bytes.end());
      std::span<const std::uint8_t> again;
      auto second =
          decode_stream_data(std::span<const std::uint8_t>(frame).subspan(kHeaderSize + 1), again);
      if (!second || second->stream != header->stream || again.size() != bytes.size()) std::abort();
      break;
    }
  }
  return 0;
}
