// services/transfer: the file transfer service's frames (docs/protocol.md, section 3.2). They are
// optional service frames (types 0x90..0x95), sent only to peers whose HELLO offered
// kCapabilityFiles; the bytes themselves (the manifest, then pieces) travel on bulk streams.
//
// The receiver drives: it accepts, then asks for the piece ranges it lacks (REQUEST), and asks
// again after any reconnect or restart for whatever is still not verified, which is all resuming
// needs. The sender only ever sends what was asked for.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "services/transfer/manifest.hpp"
#include "util/result.hpp"

namespace peerchat::transfer {

// HELLO capability bit: this peer runs the file transfer service.
inline constexpr std::uint32_t kCapabilityFiles = 1u << 1;

enum class FrameType : std::uint8_t {
  offer = 0x90,    // sender: a transfer, its manifest's hash and size; the manifest follows
  answer = 0x91,   // receiver: accepted or declined
  request = 0x92,  // receiver: send these piece ranges
  cancel = 0x93,   // either side: the transfer is over, unfinished
  status = 0x94,   // either side: paused (and why), resumed, or failed (and why)
  done = 0x95,     // receiver: every file verified and saved
};

using TransferId = std::array<std::uint8_t, 16>;

struct Offer {
  TransferId id{};
  Sha256 manifest_hash{};
  std::uint32_t manifest_bytes = 0;  // ≤ kMaxManifestBytes
  std::uint32_t files = 0;
  std::uint64_t total_bytes = 0;
};

struct Answer {
  TransferId id{};
  bool accepted = false;
};

// Pieces `first` .. `first + count - 1` of manifest entry `entry`.
struct PieceRange {
  std::uint32_t entry = 0;
  std::uint32_t first = 0;
  std::uint32_t count = 0;
};
inline constexpr std::size_t kMaxRangesPerRequest = 4'096;

struct Request {
  TransferId id{};
  std::vector<PieceRange> ranges;  // 1..kMaxRangesPerRequest, each count ≥ 1
};

inline constexpr std::size_t kMaxReasonBytes = 512;

struct Cancel {
  TransferId id{};
  std::string message;  // why, for the other side's user; UTF-8, ≤ kMaxReasonBytes
};

enum class StatusCode : std::uint8_t {
  paused_disk_full = 1,  // receiver: out of space; resumes by itself when there is room
  paused_other = 2,      // either side: paused for the reason given
  resumed = 3,
  failed = 4,  // the transfer is over: the reason given (a file unreadable, changed...)
};

struct Status {
  TransferId id{};
  StatusCode code = StatusCode::paused_other;
  std::string message;  // UTF-8, ≤ kMaxReasonBytes
};

struct Done {
  TransferId id{};
};

std::vector<std::uint8_t> encode(const Offer& offer);
std::vector<std::uint8_t> encode(const Answer& answer);
std::vector<std::uint8_t> encode(const Request& request);
std::vector<std::uint8_t> encode(const Cancel& cancel);
std::vector<std::uint8_t> encode(const Status& status);
std::vector<std::uint8_t> encode(const Done& done);

// Each refuses a payload that is short, long, out of range or not UTF-8, with the reason.
Result<Offer> decode_offer(std::span<const std::uint8_t> payload);
Result<Answer> decode_answer(std::span<const std::uint8_t> payload);
Result<Request> decode_request(std::span<const std::uint8_t> payload);
Result<Cancel> decode_cancel(std::span<const std::uint8_t> payload);
Result<Status> decode_status(std::span<const std::uint8_t> payload);
Result<Done> decode_done(std::span<const std::uint8_t> payload);

// The label of the stream that carries a transfer's manifest ("manifest " + 32 hex digits), and
// of one that carries pieces ("pieces " + hex ID + " " + entry + " " + first piece).
std::string manifest_stream_label(const TransferId& id);
std::string pieces_stream_label(const TransferId& id, std::uint32_t entry, std::uint32_t first);

struct StreamLabel {
  enum class Kind : std::uint8_t { manifest, pieces } kind = Kind::manifest;
  TransferId id{};
  std::uint32_t entry = 0;  // pieces only
  std::uint32_t first = 0;  // pieces only
};
// Exactly the forms above, nothing else (other services label their streams their own way).
Result<StreamLabel> parse_stream_label(std::string_view label);

}  // namespace peerchat::transfer
