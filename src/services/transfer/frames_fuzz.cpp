// Fuzz target: the file transfer frames and stream labels, as a hostile peer sends them. The
// first byte picks the decoder; whatever decodes must encode back to exactly its input (one
// spelling per frame), and a label that parses must print back to itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "services/transfer/frames.hpp"

namespace {

using namespace peerchat::transfer;

template <class Decode>
void round_trip(std::span<const std::uint8_t> payload, Decode decode) {
  auto decoded = decode(payload);
  if (!decoded) return;
  const auto again = encode(*decoded);
  if (again.size() != payload.size() || !std::equal(again.begin(), again.end(), payload.begin())) {
    std::abort();
  }
}

void label(std::span<const std::uint8_t> payload) {
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  auto parsed = parse_stream_label(text);
  if (!parsed) return;
  const std::string again = parsed->kind == StreamLabel::Kind::manifest
                                ? manifest_stream_label(parsed->id)
                                : pieces_stream_label(parsed->id, parsed->entry, parsed->first);
  if (again != text) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> payload(data + 1, size - 1);
  switch (data[0] % 7) {
    case 0:
      round_trip(payload, decode_offer);
      break;
    case 1:
      round_trip(payload, decode_answer);
      break;
    case 2:
      round_trip(payload, decode_request);
      break;
    case 3:
      round_trip(payload, decode_cancel);
      break;
    case 4:
      round_trip(payload, decode_status);
      break;
    case 5:
      round_trip(payload, decode_done);
      break;
    default:
      label(payload);
  }
  return 0;
}
