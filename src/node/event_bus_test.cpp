#include "node/event_bus.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace peerchat::node {
namespace {

struct Recorder final : EventSubscriber {
  void on_event(std::uint64_t seq, const Event& event) override {
    seqs.push_back(seq);
    if (also) also(event);
  }
  std::vector<std::uint64_t> seqs;
  std::function<void(const Event&)> also;
};

Event ready() {
  return event::Ready{"alice", tls::PeerId(), 7001};
}

TEST(EventBus, EverySubscriberHearsEveryEventWithConsecutiveNumbers) {
  EventBus bus;
  Recorder first;
  Recorder second;
  bus.subscribe(first);
  bus.emit(ready());  // before `second` subscribed: it does not hear this one
  bus.subscribe(second);
  bus.emit(ready());
  bus.emit(ready());
  EXPECT_EQ(first.seqs, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(second.seqs, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(bus.last_seq(), 3u);
  bus.unsubscribe(first);
  bus.emit(ready());
  EXPECT_EQ(first.seqs.size(), 3u);
  EXPECT_EQ(second.seqs.back(), 4u);
}

TEST(EventBus, ASubscriberMayLeaveOrRemoveAnotherWhileItHearsAnEvent) {
  EventBus bus;
  Recorder leaving;
  Recorder removed;
  Recorder staying;
  leaving.also = [&](const Event&) {
    bus.unsubscribe(leaving);
    bus.unsubscribe(removed);
  };
  bus.subscribe(leaving);
  bus.subscribe(removed);
  bus.subscribe(staying);
  bus.emit(ready());
  bus.emit(ready());
  EXPECT_EQ(leaving.seqs, std::vector<std::uint64_t>{1});
  EXPECT_TRUE(removed.seqs.empty());
  EXPECT_EQ(staying.seqs, (std::vector<std::uint64_t>{1, 2}));
}

}  // namespace
}  // namespace peerchat::node
