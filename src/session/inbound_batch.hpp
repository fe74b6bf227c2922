// session: the CHATs that one connection read between two batch ends, bound to that
// connection's authenticated peer.
//
// Only a Connection makes one, from its own reads, and stamps it with its own serial and the
// peer ID that TLS proved; nothing else can set either. So a batch can never hold another
// connection's messages, the author of what is stored comes from the batch alone, and its
// acknowledgement can only go back on the connection it came from (Connection::acknowledge
// refuses a batch that is not its own).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tls/peer_id.hpp"
#include "wire/messages.hpp"

namespace peerchat::session {

class InboundBatch {
 public:
  InboundBatch(InboundBatch&&) = default;
  InboundBatch& operator=(InboundBatch&&) = default;
  InboundBatch(const InboundBatch&) = delete;
  InboundBatch& operator=(const InboundBatch&) = delete;

  // The TLS-authenticated peer every CHAT in this batch came from.
  const tls::PeerId& author() const { return author_; }
  // The connection that read it (Connection::serial()).
  std::uint64_t connection() const { return connection_; }

  std::span<wire::Chat> chats() { return chats_; }
  std::span<const wire::Chat> chats() const { return chats_; }
  bool empty() const { return chats_.empty(); }
  std::size_t size() const { return chats_.size(); }
  // The highest sequence number in the batch (what a cumulative ACK for it covers).
  std::uint64_t highest_seq() const { return highest_seq_; }

 private:
  friend class Connection;
  InboundBatch(std::uint64_t connection, const tls::PeerId& author)
      : connection_(connection), author_(author) {}
  void add(wire::Chat&& chat) {
    if (chat.seq > highest_seq_) highest_seq_ = chat.seq;
    chats_.push_back(std::move(chat));
  }

  std::uint64_t connection_;
  tls::PeerId author_;
  std::vector<wire::Chat> chats_;
  std::uint64_t highest_seq_ = 0;
};

}  // namespace peerchat::session
