// node: the event bus. The node emits each event once; the bus numbers it (consecutive, from
// 1, so a subscriber can tell that it missed some) and hands it to every subscriber in the
// order they subscribed. Subscribers run on the I/O thread and must not block: each keeps its
// own bounded queue and decides what to do when its reader falls behind (cli::QueuedOutput
// drops and says so; a future WebSocket client may be told to resync from the store).
#pragma once

#include <cstdint>
#include <vector>

#include "node/events.hpp"

namespace peerchat::node {

class EventSubscriber {
 public:
  virtual ~EventSubscriber() = default;
  // On the I/O thread, for every event after subscribing; `seq` is the event's number.
  virtual void on_event(std::uint64_t seq, const Event& event) = 0;
};

class EventBus final : public EventSink {
 public:
  // The subscriber must outlive its subscription.
  void subscribe(EventSubscriber& subscriber);
  void unsubscribe(EventSubscriber& subscriber);

  void emit(const Event& event) override;
  // The number of the last event emitted (0: none yet).
  std::uint64_t last_seq() const { return last_seq_; }

 private:
  std::vector<EventSubscriber*> subscribers_;  // null: unsubscribed during an emit
  std::uint64_t last_seq_ = 0;
  int emitting_ = 0;
};

}  // namespace peerchat::node
