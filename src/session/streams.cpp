#include "session/streams.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "wire/errors.hpp"

namespace peerchat::session {
namespace {

Error stream_error(std::string message) {
  return make_error(wire::Errc::bad_field, std::move(message));
}

}  // namespace

Result<std::uint32_t> OutgoingStreams::open(wire::Bytes& out, std::string label,
                                            std::uint64_t size) {
  if (streams_.size() >= limits_.max_streams) {
    return stream_error(fmt::format("already {} streams open to this peer", streams_.size()));
  }
  if (label.size() > wire::kMaxStreamLabelBytes) {
    return stream_error(fmt::format("stream label is {} bytes; the limit is {}", label.size(),
                                    wire::kMaxStreamLabelBytes));
  }
  const std::uint32_t id = next_id_++;
  wire::encode(out, wire::StreamOpen{id, size, std::move(label)});
  streams_.push_back(Stream{id, {}, 0, 0, false});
  return id;
}

OutgoingStreams::Stream* OutgoingStreams::find(std::uint32_t stream) {
  for (auto& candidate : streams_) {
    if (candidate.id == stream) return &candidate;
  }
  return nullptr;
}

const OutgoingStreams::Stream* OutgoingStreams::find(std::uint32_t stream) const {
  for (const auto& candidate : streams_) {
    if (candidate.id == stream) return &candidate;
  }
  return nullptr;
}

std::size_t OutgoingStreams::room(std::uint32_t stream) const {
  const Stream* found = find(stream);
  if (found == nullptr || found->ending) return 0;
  return limits_.send_buffer - std::min(limits_.send_buffer, found->queued);
}

wire::Bytes OutgoingStreams::new_block() {
  wire::Bytes block;
  if (!spare_.empty()) {
    block = std::move(spare_.back());
    spare_.pop_back();
  } else {
    block.reserve(kHeadroom + limits_.max_chunk);
  }
  block.resize(kHeadroom);
  return block;
}

void OutgoingStreams::recycle(wire::Bytes&& block) {
  // A few spare blocks cover a writer in flight; more would only hold memory.
  if (spare_.size() < 4 && block.capacity() >= kHeadroom + limits_.max_chunk) {
    block.clear();
    spare_.push_back(std::move(block));
  }
}

std::size_t OutgoingStreams::write(std::uint32_t stream, std::span<const std::uint8_t> data) {
  Stream* found = find(stream);
  const std::size_t accepted = std::min(room(stream), data.size());
  if (found == nullptr || accepted == 0) return 0;
  for (std::size_t done = 0; done < accepted;) {
    if (found->blocks.empty() || found->blocks.back().size() >= kHeadroom + limits_.max_chunk) {
      found->blocks.push_back(new_block());
    }
    wire::Bytes& block = found->blocks.back();
    const std::size_t n = std::min(accepted - done, kHeadroom + limits_.max_chunk - block.size());
    block.insert(block.end(), data.begin() + static_cast<std::ptrdiff_t>(done),
                 data.begin() + static_cast<std::ptrdiff_t>(done + n));
    done += n;
  }
  found->queued += accepted;
  return accepted;
}

void OutgoingStreams::end(std::uint32_t stream) {
  if (Stream* found = find(stream)) found->ending = true;
}

void OutgoingStreams::cancel(wire::Bytes& out, std::uint32_t stream, std::string message) {
  auto it = std::find_if(streams_.begin(), streams_.end(),
                         [&](const Stream& candidate) { return candidate.id == stream; });
  if (it == streams_.end()) return;
  wire::encode(out, wire::StreamEnd{stream, wire::StreamStatus::cancelled, std::move(message)});
  streams_.erase(it);
  next_ = 0;
}

bool OutgoingStreams::ready() const {
  for (const auto& stream : streams_) {
    if (stream.queued == 0 ? stream.ending : credit_ > 0) return true;
  }
  return false;
}

bool OutgoingStreams::take(wire::Bytes& out, wire::Bytes& tail) {
  bool freed = false;
  for (std::size_t tried = 0; credit_ > 0 && tried < streams_.size(); ++tried) {
    Stream& stream = streams_[(next_ + tried) % streams_.size()];
    if (stream.queued == 0) continue;
    wire::Bytes& block = stream.blocks.front();
    const std::size_t unsent = block.size() - kHeadroom - stream.front_sent;
    const std::size_t size =
        std::min({unsent, limits_.max_chunk, static_cast<std::size_t>(credit_)});
    if (stream.front_sent == 0 && size == unsent) {
      // The whole block goes: its header fills the headroom, and the block itself is written.
      std::uint8_t* p = block.data();
      p = wire::store_u32(p, static_cast<std::uint32_t>(1 + wire::kStreamDataHeaderBytes + size));
      p = wire::store_u8(p, static_cast<std::uint8_t>(wire::FrameType::stream_data));
      wire::store_u32(p, stream.id);
      tail = std::move(block);
      stream.blocks.pop_front();
    } else {
      // Less credit than the block holds: copy what the credit allows.
      wire::encode_stream_data_header(out, stream.id, size);
      const auto* from = block.data() + kHeadroom + stream.front_sent;
      out.insert(out.end(), from, from + size);
      stream.front_sent += size;
      if (stream.front_sent == block.size() - kHeadroom) {
        recycle(std::move(block));
        stream.blocks.pop_front();
        stream.front_sent = 0;
      }
    }
    stream.queued -= size;
    credit_ -= size;
    next_ = (next_ + tried + 1) % streams_.size();
    freed = true;
    break;
  }
  // Streams whose last byte is out end now; their IDs are never used again. The END follows
  // the data: after the tail when there is one.
  wire::Bytes& ends = tail.empty() ? out : tail;
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (it->ending && it->queued == 0) {
      wire::encode(ends, wire::StreamEnd{it->id, wire::StreamStatus::complete, {}});
      it = streams_.erase(it);
      next_ = 0;
    } else {
      ++it;
    }
  }
  return freed;
}

std::uint32_t IncomingStreams::initial_grant() {
  outstanding_ = limits_.receive_window;
  return limits_.receive_window;
}

IncomingStreams::Stream* IncomingStreams::find(std::uint32_t stream) {
  for (auto& candidate : streams_) {
    if (candidate.id == stream) return &candidate;
  }
  return nullptr;
}

Result<void> IncomingStreams::on_open(const wire::StreamOpen& open) {
  if (open.stream <= last_id_) {
    return stream_error(fmt::format("STREAM_OPEN reuses stream ID {}", open.stream));
  }
  if (streams_.size() >= limits_.max_streams) {
    return stream_error(fmt::format("more than {} streams open at once", limits_.max_streams));
  }
  last_id_ = open.stream;
  streams_.push_back(Stream{open.stream, false});
  return {};
}

Result<bool> IncomingStreams::on_data(std::uint32_t stream, std::size_t bytes) {
  Stream* found = find(stream);
  if (found == nullptr) {
    return stream_error(fmt::format("STREAM_DATA for stream {}, which is not open", stream));
  }
  if (bytes > outstanding_) {
    return stream_error(
        fmt::format("STREAM_DATA of {} bytes beyond the {} bytes of credit", bytes, outstanding_));
  }
  outstanding_ -= bytes;
  unconsumed_ += bytes;
  if (found->stopped) {
    consume(bytes);
    return false;
  }
  return true;
}

Result<void> IncomingStreams::on_end(std::uint32_t stream) {
  auto it = std::find_if(streams_.begin(), streams_.end(),
                         [&](const Stream& candidate) { return candidate.id == stream; });
  if (it == streams_.end()) {
    return stream_error(fmt::format("STREAM_END for stream {}, which is not open", stream));
  }
  streams_.erase(it);
  return {};
}

bool IncomingStreams::stop(std::uint32_t stream) {
  Stream* found = find(stream);
  if (found == nullptr || found->stopped) return false;
  found->stopped = true;
  return true;
}

void IncomingStreams::consume(std::size_t bytes) {
  const std::uint64_t n = std::min<std::uint64_t>(bytes, unconsumed_);
  unconsumed_ -= n;
  releasable_ += n;
}

std::uint32_t IncomingStreams::take_regrant() {
  if (releasable_ == 0 || releasable_ < limits_.receive_window / 4) return 0;
  const auto grant = static_cast<std::uint32_t>(releasable_);
  outstanding_ += grant;
  releasable_ = 0;
  return grant;
}

}  // namespace peerchat::session
