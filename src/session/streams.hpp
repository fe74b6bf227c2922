// session: bookkeeping for bulk streams, both directions, with no I/O (Protocol drives it).
//
// Sending: bytes wait in a bounded buffer per stream; each writer pass takes at most one
// STREAM_DATA chunk, round robin over streams, after whatever chat and control frames are
// queued. So a chat message waits behind at most one chunk of bulk data in our own queue, and
// behind at most the peer's byte credit in flight.
// Receiving: the peer's byte credit is granted back only as the application consumes data, so a
// slow disk slows the sender rather than filling memory.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "wire/bytes.hpp"
#include "wire/frame.hpp"
#include "wire/streams.hpp"

namespace peerchat::session {

struct StreamLimits {
  std::uint32_t receive_window = 4u << 20;  // bytes in flight to us, over all streams
  std::size_t send_buffer = 256 * 1024;     // bytes queued per outgoing stream
  std::size_t max_chunk = 64 * 1024;        // data bytes per STREAM_DATA frame we send
  std::size_t max_streams = 16;             // open streams per direction
};

class OutgoingStreams {
 public:
  explicit OutgoingStreams(const StreamLimits& limits) : limits_(limits) {}

  // Queues STREAM_OPEN in `out`; the new stream's ID.
  Result<std::uint32_t> open(wire::Bytes& out, std::string label, std::uint64_t size);
  // Bytes taken from `data` (fewer when the stream's buffer is full; 0 for an unknown stream).
  std::size_t write(std::uint32_t stream, std::span<const std::uint8_t> data);
  // STREAM_END (complete) goes out once the buffered bytes have.
  void end(std::uint32_t stream);
  // Drops buffered bytes and queues STREAM_END (cancelled) in `out` at once.
  void cancel(wire::Bytes& out, std::uint32_t stream, std::string message);
  std::size_t room(std::uint32_t stream) const;
  bool is_open(std::uint32_t stream) const { return find(stream) != nullptr; }

  void grant(std::uint32_t bytes) { credit_ += bytes; }
  // Something for take() to emit: data with credit to send it, or a due STREAM_END.
  bool ready() const;
  // Emits at most one STREAM_DATA frame, then any due STREAM_ENDs, into `out`; or, when a whole
  // buffered block can go as one frame, hands that block over as `tail` (header included, to
  // be written after `out`) without copying it. True when buffer room was freed.
  bool take(wire::Bytes& out, wire::Bytes& tail);
  // A block handed out by take(), once written, for reuse.
  void recycle(wire::Bytes&& block);
  void clear() { streams_.clear(); }

 private:
  // Data waits in blocks of up to max_chunk bytes, each with room in front for the frame
  // header, so that a full block is sent as it is.
  static constexpr std::size_t kHeadroom = wire::kHeaderSize + 1 + wire::kStreamDataHeaderBytes;
  struct Stream {
    std::uint32_t id = 0;
    std::deque<wire::Bytes> blocks;
    std::size_t front_sent = 0;  // data bytes of the front block already sent
    std::size_t queued = 0;      // unsent data bytes in all blocks
    bool ending = false;
  };
  Stream* find(std::uint32_t stream);
  const Stream* find(std::uint32_t stream) const;
  wire::Bytes new_block();

  StreamLimits limits_;
  std::vector<Stream> streams_;
  std::vector<wire::Bytes> spare_;  // written blocks kept for reuse
  std::size_t next_ = 0;            // round-robin position
  std::uint64_t credit_ = 0;
  std::uint32_t next_id_ = 1;
};

class IncomingStreams {
 public:
  explicit IncomingStreams(const StreamLimits& limits) : limits_(limits) {}

  std::uint32_t initial_grant();
  // Each check fails for a peer that broke the stream rules (a protocol error).
  Result<void> on_open(const wire::StreamOpen& open);
  // False when the data belongs to a stream we stopped: it is dropped and its credit returned.
  Result<bool> on_data(std::uint32_t stream, std::size_t bytes);
  Result<void> on_end(std::uint32_t stream);
  // We asked the peer to stop: data still in flight is dropped until its STREAM_END.
  bool stop(std::uint32_t stream);

  // The application is done with `bytes` of delivered data.
  void consume(std::size_t bytes);
  // Credit to send back now; 0 while less than a quarter window is due (fewer frames).
  std::uint32_t take_regrant();

 private:
  struct Stream {
    std::uint32_t id = 0;
    bool stopped = false;
  };
  Stream* find(std::uint32_t stream);

  StreamLimits limits_;
  std::vector<Stream> streams_;
  std::uint32_t last_id_ = 0;
  std::uint64_t outstanding_ = 0;  // granted, not yet used by the peer
  std::uint64_t unconsumed_ = 0;   // delivered, not yet consumed
  std::uint64_t releasable_ = 0;   // consumed, not yet granted back
};

}  // namespace peerchat::session
