#include "node/event_bus.hpp"

#include <algorithm>

namespace peerchat::node {

void EventBus::subscribe(EventSubscriber& subscriber) {
  subscribers_.push_back(&subscriber);
}

void EventBus::unsubscribe(EventSubscriber& subscriber) {
  // While an event is being handed out the list stays in place; the gap closes afterwards.
  std::replace(subscribers_.begin(), subscribers_.end(), &subscriber,
               static_cast<EventSubscriber*>(nullptr));
  if (emitting_ == 0) std::erase(subscribers_, nullptr);
}

void EventBus::emit(const Event& event) {
  const std::uint64_t seq = ++last_seq_;
  ++emitting_;
  // By index: a subscriber may subscribe or unsubscribe others while it hears the event.
  for (std::size_t i = 0; i < subscribers_.size(); ++i) {
    if (EventSubscriber* subscriber = subscribers_[i]) subscriber->on_event(seq, event);
  }
  if (--emitting_ == 0) std::erase(subscribers_, nullptr);
}

}  // namespace peerchat::node
