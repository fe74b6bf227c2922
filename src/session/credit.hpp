// session: flow-control credit, the protocol's "ready to receive" signal, counted in CHAT frames.
#pragma once

#include <cstdint>

namespace peerchat::session {

// Sender side: how many more CHAT frames the peer has said it is ready for.
class SendWindow {
 public:
  void grant(std::uint32_t more) { available_ += more; }
  bool can_send() const { return available_ > 0; }
  // Caller checks can_send() first; sending without credit is a local bug.
  void consume() { --available_; }
  std::uint64_t available() const { return available_; }

 private:
  std::uint64_t available_ = 0;
};

// Receiver side: what we have granted, what the peer used, and what to grant back.
class ReceiveWindow {
 public:
  explicit ReceiveWindow(std::uint32_t window) : window_(window) {}

  // The first grant, sent right after HELLO.
  std::uint32_t initial_grant() {
    outstanding_ = window_;
    return window_;
  }
  // A CHAT arrived. False when the peer exceeded its credit: a protocol violation.
  bool on_message() {
    if (outstanding_ == 0) return false;
    --outstanding_;
    ++unreleased_;
    return true;
  }
  // `count` received messages are dealt with (stored): their credit may go back to the peer.
  // Credit returns only after storing, so a slow store slows the sender instead of using memory.
  void release(std::uint32_t count) {
    const std::uint32_t n = count < unreleased_ ? count : unreleased_;
    unreleased_ -= n;
    releasable_ += n;
  }
  // Credit to send back now; 0 when none is due.
  std::uint32_t take_regrant() {
    const std::uint32_t regrant = releasable_;
    outstanding_ += regrant;
    releasable_ = 0;
    return regrant;
  }
  std::uint32_t outstanding() const { return outstanding_; }

 private:
  std::uint32_t window_;
  std::uint32_t outstanding_ = 0;  // granted but not yet used by the peer
  std::uint32_t unreleased_ = 0;   // received, not yet stored
  std::uint32_t releasable_ = 0;   // stored, credit not yet sent back
};

}  // namespace peerchat::session
