// Fan-in (issue 9): many real senders writing to one receiver at the same moment, texts from a
// few bytes to the 64 KiB limit. Each message must be shown and stored exactly once, in order,
// under its real (TLS-authenticated) author, and `delivered` only for what the receiver stored.
// PEERCHAT_SOAK=1 runs more rounds, and the soak: kill -9 of random peers meanwhile.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "harness.hpp"

namespace peerchat::testing {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

bool soak_requested() {
  const char* soak = std::getenv("PEERCHAT_SOAK");
  return soak != nullptr && std::string(soak) != "0";
}

int env_or(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && std::atoi(value) > 0 ? std::atoi(value) : fallback;
}

// "s3-r1-000123:" then filler up to `size` bytes (ASCII, so valid UTF-8 of exactly that size;
// never shorter than the tag).
std::string text_for(int sender, int round, int index, std::size_t size) {
  char tag[48];
  std::snprintf(tag, sizeof tag, "s%d-r%d-%06d:", sender, round, index);
  std::string text = tag;
  text.reserve(size);
  for (std::size_t i = text.size(); i < size; ++i) {
    text.push_back(static_cast<char>('a' + (i + static_cast<std::size_t>(index)) % 26));
  }
  return text;
}

// Senders come in two kinds: even ones send texts of every size, most of several TLS records,
// some at the 64 KiB limit; odd ones chatter, many short texts. Against a receiver that shared
// one read batch between connections, this mix showed the damage in nearly every round, where
// senders all alike showed it in about one round in two (the big ones leave a reader waiting
// mid-batch for the rest of a record while the chatty ones end batches all the time).
bool chatty(std::size_t sender) {
  return sender % 2 == 1;
}
std::size_t text_size(std::size_t sender, std::mt19937& random) {
  const auto pick = random() % 100;
  if (chatty(sender)) return 1 + random() % 2'000;
  if (pick < 30) return 1 + random() % 200;
  if (pick < 50) return 200 + random() % 16'000;
  if (pick < 95) return 16'384 + random() % (65'536 - 16'384);
  return 65'536;
}

// A text as the checks need it: its tag, size and a hash (not 64 KiB of it, many thousand times).
struct Fingerprint {
  std::string key;  // "s3-r1-000123"
  std::size_t bytes = 0;
  std::size_t hash = 0;
};
Fingerprint fingerprint(const std::string& text) {
  return {text.substr(0, std::min(text.find(':'), std::size_t{24})), text.size(),
          std::hash<std::string>{}(text)};
}

// How what one author's conversation holds differs from what that author sent.
struct Damage {
  std::size_t lost = 0;  // not under its author at all (a misattributed one counts here too)
  std::size_t duplicated = 0;
  std::size_t out_of_order = 0;
  std::size_t misattributed = 0;  // another author's text shown or stored under this one
  std::size_t altered = 0;
  bool clean() const { return lost + duplicated + out_of_order + misattributed + altered == 0; }
  Damage& operator+=(const Damage& other) {
    lost += other.lost;
    duplicated += other.duplicated;
    out_of_order += other.out_of_order;
    misattributed += other.misattributed;
    altered += other.altered;
    return *this;
  }
};
std::ostream& operator<<(std::ostream& out, const Damage& damage) {
  return out << damage.misattributed << " misattributed, " << damage.lost << " lost, "
             << damage.duplicated << " duplicated, " << damage.out_of_order << " out of order, "
             << damage.altered << " altered";
}

// `got` (arrival order, under one author) against `want` (that author's send order).
Damage compare(const std::vector<Fingerprint>& want, const std::vector<Fingerprint>& got) {
  std::unordered_map<std::string, std::size_t> position;
  for (std::size_t k = 0; k < want.size(); ++k) position[want[k].key] = k;
  std::vector<int> times(want.size(), 0);
  Damage damage;
  std::size_t next = 0;  // one past the furthest position seen so far
  for (const auto& seen : got) {
    auto it = position.find(seen.key);
    if (it == position.end()) {
      ++damage.misattributed;  // every text names its sender: not one of this author's
      continue;
    }
    const std::size_t k = it->second;
    if (++times[k] > 1) {
      ++damage.duplicated;
      continue;
    }
    if (seen.bytes != want[k].bytes || seen.hash != want[k].hash) ++damage.altered;
    if (k + 1 < next) ++damage.out_of_order;
    next = std::max(next, k + 1);
  }
  damage.lost = static_cast<std::size_t>(std::count(times.begin(), times.end(), 0));
  return damage;
}

// One writer thread per sender, each writing its lines into that sender's stdin as fast as the
// sender reads them (a big write blocks until it does, as a script's would). Writers started
// before open() begin together.
class Writers {
 public:
  using LineOf = std::function<std::string(int index)>;
  explicit Writers(std::size_t count) : threads_(count), done_(count, true), targets_(count) {}
  ~Writers() {
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  Writers(const Writers&) = delete;
  Writers& operator=(const Writers&) = delete;

  // Writes lines `first`..`last`-1 of `line_of` into `target`.
  void start(std::size_t i, Process& target, LineOf line_of, int first, int last) {
    if (threads_[i].joinable()) threads_[i].join();
    {
      std::lock_guard lock(mutex_);
      done_[i] = false;
      targets_[i] = &target;
    }
    threads_[i] = std::thread([this, i, &target, line_of = std::move(line_of), first, last] {
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return open_; });
      }
      for (int index = first; index < last; ++index) target.write_line(line_of(index));
      std::lock_guard lock(mutex_);
      done_[i] = true;
      changed_.notify_all();
    });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  // Waits for writer `i` after its target was killed (its writes then fail at once).
  void join(std::size_t i) {
    if (threads_[i].joinable()) threads_[i].join();
  }
  // Waits until every writer is done, up to `deadline`; then kills the targets still being
  // written to (a sender that stopped reading), which ends those writes. False if it had to.
  bool finish(Clock::time_point deadline) {
    std::vector<Process*> stuck;
    {
      std::unique_lock lock(mutex_);
      changed_.wait_until(lock, deadline, [&] {
        return std::all_of(done_.begin(), done_.end(), [](bool done) { return done; });
      });
      for (std::size_t i = 0; i < done_.size(); ++i) {
        if (!done_[i]) stuck.push_back(targets_[i]);
      }
    }
    for (auto* target : stuck) target->signal(SIGKILL);
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    return stuck.empty();
  }

 private:
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  std::vector<bool> done_;
  std::vector<Process*> targets_;
};

// What a sender's events showed.
struct SenderEvents {
  std::size_t queued = 0;
  std::vector<std::string> delivered;  // message IDs
  std::vector<std::string> problems;   // error and warning events
  void take(const json& event) {
    const auto& name = event["event"];
    if (name == "queued") {
      ++queued;
    } else if (name == "delivered") {
      delivered.push_back(event["id"].get<std::string>());
    } else if (name == "error" || name == "warning") {
      problems.push_back(event.dump());
    }
  }
};

// Reads `events` until `expected` deliveries, or nothing came for `stall`, or `deadline`.
SenderEvents follow_sender(EventStream& events, std::size_t expected,
                           std::chrono::milliseconds stall, Clock::time_point deadline) {
  SenderEvents seen;
  while (seen.delivered.size() < expected && Clock::now() < deadline) {
    auto event =
        events.next(std::min(stall, std::chrono::milliseconds(remaining_ms(deadline) + 1)));
    if (!event) break;
    seen.take(*event);
  }
  return seen;
}

// Takes what `events` holds already, without waiting; at most `limit` events.
void take_waiting(EventStream& events, SenderEvents* into, std::size_t limit = 1'000'000) {
  for (std::size_t taken = 0; taken < limit; ++taken) {
    auto event = events.next(0ms);
    if (!event) return;
    if (into != nullptr) into->take(*event);
  }
}

// The receiver's `message` events (text fingerprints by the peer ID they name): all it showed
// before it answered a /peers written now, since its events come in order on one stdout.
// `dropped_messages`: message events the receiver said it dropped because this reader fell
// behind its bounded stdout queue (by design: a slow reader never stalls a session). Those
// messages are still checked in its store.
bool read_shown(Peer& receiver, EventStream& events, Clock::time_point deadline,
                std::map<std::string, std::vector<Fingerprint>>& shown,
                std::size_t& dropped_messages) {
  receiver.command("/peers");
  while (auto event = events.next(std::chrono::milliseconds(remaining_ms(deadline)))) {
    if ((*event)["event"] == "peers") return true;
    if ((*event)["event"] == "dropped" && (*event)["events"].contains("message")) {
      dropped_messages += (*event)["events"]["message"].get<std::size_t>();
    }
    if ((*event)["event"] == "message") {
      shown[(*event)["peer"].get<std::string>()].push_back(
          fingerprint((*event)["text"].get<std::string>()));
    }
  }
  return false;
}

// What a store holds from (or for) one peer: fingerprints in arrival order, and by message ID.
struct Stored {
  std::vector<Fingerprint> in_order;
  std::unordered_map<std::string, Fingerprint> by_id;
};
// Kept up to date by reading only the rows that arrived since the last update.
struct Holdings {
  std::map<std::string, Stored> incoming;  // by author
  std::map<std::string, Stored> outgoing;  // by recipient
  long long last_local_id = 0;
};
void update(Holdings& held, const std::filesystem::path& data_dir) {
  for_each_message(
      data_dir,
      [&](const MessageRow& row) {
        Stored& stored = (row.outgoing ? held.outgoing : held.incoming)[row.peer];
        stored.in_order.push_back(fingerprint(row.text));
        stored.by_id.emplace(row.message_id, stored.in_order.back());
        held.last_local_id = row.local_id;
      },
      held.last_local_id);
}

// How many of `delivered` (message IDs a sender was told were delivered) the receiver does not
// hold under that sender with the text the sender `sent` under that ID.
std::size_t delivered_not_stored(const std::set<std::string>& delivered, const Stored& stored,
                                 const Stored& sent) {
  std::size_t missing = 0;
  for (const auto& id : delivered) {
    auto stored_as = stored.by_id.find(id);
    auto sent_as = sent.by_id.find(id);
    if (stored_as == stored.by_id.end() || sent_as == sent.by_id.end() ||
        stored_as->second.hash != sent_as->second.hash) {
      ++missing;
    }
  }
  return missing;
}

// Messages the receiver holds from anyone but `senders`.
std::size_t count_from_others(const Holdings& held, const std::set<std::string>& senders) {
  std::size_t others = 0;
  for (const auto& [author, stored] : held.incoming) {
    if (senders.count(author) == 0) others += stored.in_order.size();
  }
  return others;
}

struct FanInLoad {
  int senders;
  int long_texts;              // per round and sender of every size
  int short_texts;             // per chatty sender and round (the per-peer queue holds 10,000)
  int rounds;                  // the test stops at the first round that shows damage
  std::chrono::seconds stall;  // the longest quiet spell before a wait gives up
  std::chrono::seconds round_deadline;
};

// A release round takes ~10 s on 2 busy cores. Sanitizer builds are ~50 times slower per byte
// here, so they run one small round (~9 s under ASan, ~25 s under TSan): the same checks on 8
// concurrent senders, for memory and thread errors on this path; catching issue 9 is the
// release build's job (ASan at 300/900 texts, 2 rounds, 50 s, did not show it).
// PEERCHAT_FANIN_ROUNDS, _LONG and _SHORT resize it (to reproduce on another machine).
FanInLoad fan_in_load() {
  FanInLoad load{8, 2'000, 6'000, 3, 15s, 90s};
  if (soak_requested()) load = {8, 2'000, 6'000, 20, 60s, 600s};
  if (kSanitized) load = {8, 100, 400, 1, 30s, 100s};
  load.rounds = env_or("PEERCHAT_FANIN_ROUNDS", load.rounds);
  load.long_texts = env_or("PEERCHAT_FANIN_LONG", load.long_texts);
  load.short_texts = env_or("PEERCHAT_FANIN_SHORT", load.short_texts);
  return load;
}

TEST(FanIn, ManySendersAtOnceEachMessageOnceUnderItsAuthor) {
  const FanInLoad load = fan_in_load();
  TempDir root;
  Peer receiver("receiver", root);
  std::vector<std::unique_ptr<Peer>> senders;
  std::set<std::string> sender_ids;
  for (int s = 0; s < load.senders; ++s) {
    senders.push_back(std::make_unique<Peer>(
        "s" + std::to_string(s), root, std::vector<std::string>{"--connect", receiver.address()}));
    sender_ids.insert(senders.back()->id());
  }
  for (auto& sender : senders) ASSERT_TRUE(both_connected(receiver, *sender)) << sender->name();
  EventStream receiver_events(receiver);
  std::vector<std::unique_ptr<EventStream>> sender_events;
  for (auto& sender : senders) sender_events.push_back(std::make_unique<EventStream>(*sender));

  std::mt19937 random(20260509);
  std::vector<std::vector<Fingerprint>> sent_so_far(senders.size());
  Holdings receiver_held;
  std::vector<Holdings> sender_held(senders.size());
  const auto started = Clock::now();
  for (int round = 0; round < load.rounds; ++round) {
    // Per sender, the sizes of its texts this round.
    std::vector<std::vector<std::size_t>> sizes(senders.size());
    std::size_t bytes = 0;
    std::size_t messages = 0;
    for (std::size_t s = 0; s < sizes.size(); ++s) {
      const int count = chatty(s) ? load.short_texts : load.long_texts;
      for (int i = 0; i < count; ++i) bytes += sizes[s].emplace_back(text_size(s, random));
      messages += sizes[s].size();
    }
    auto text_of = [&sizes, round](std::size_t s, int i) {
      return text_for(static_cast<int>(s), round, i, sizes[s][static_cast<std::size_t>(i)]);
    };
    const auto deadline = Clock::now() + load.round_deadline;
    {
      Writers writers(senders.size());
      for (std::size_t s = 0; s < senders.size(); ++s) {
        writers.start(
            s, senders[s]->process(),
            [&text_of, s](int i) { return "/msg receiver " + text_of(s, i); }, 0,
            static_cast<int>(sizes[s].size()));
      }
      writers.open();
      ASSERT_TRUE(writers.finish(deadline)) << "a sender stopped reading its stdin";
    }
    std::vector<SenderEvents> events(senders.size());
    for (std::size_t s = 0; s < senders.size(); ++s) {
      events[s] = follow_sender(*sender_events[s], sizes[s].size(), load.stall, deadline);
    }
    std::map<std::string, std::vector<Fingerprint>> shown;
    std::size_t dropped_messages = 0;
    ASSERT_TRUE(read_shown(receiver, receiver_events, deadline, shown, dropped_messages))
        << "no answer to /peers";

    // What each sender sent against what the receiver showed and stored under its ID, and
    // against what the sender was told was delivered.
    update(receiver_held, receiver.data_dir());
    Damage shown_damage;
    Damage stored_damage;
    std::size_t not_stored = 0;
    std::size_t never_delivered = 0;
    std::size_t shown_total = 0;
    std::vector<std::string> problems;
    for (std::size_t s = 0; s < senders.size(); ++s) {
      const std::string& id = senders[s]->id();
      const std::size_t count = sizes[s].size();
      std::vector<Fingerprint> want;
      for (int i = 0; i < static_cast<int>(count); ++i) want.push_back(fingerprint(text_of(s, i)));
      shown_damage += compare(want, shown[id]);
      shown_total += shown[id].size();
      shown.erase(id);
      sent_so_far[s].insert(sent_so_far[s].end(), want.begin(), want.end());
      const Stored& stored = receiver_held.incoming[id];
      update(sender_held[s], senders[s]->data_dir());
      stored_damage += compare(sent_so_far[s], stored.in_order);
      const std::set<std::string> delivered(events[s].delivered.begin(), events[s].delivered.end());
      not_stored += delivered_not_stored(delivered, stored, sender_held[s].outgoing[receiver.id()]);
      never_delivered += count - std::min(delivered.size(), count);
      if (events[s].queued != count) {
        problems.push_back(senders[s]->name() + " queued " + std::to_string(events[s].queued) +
                           " of " + std::to_string(count));
      }
      problems.insert(problems.end(), events[s].problems.begin(), events[s].problems.end());
    }
    for (const auto& [peer, texts] : shown) {
      problems.push_back(std::to_string(texts.size()) + " messages shown from unknown peer " +
                         peer);
    }
    if (const auto others = count_from_others(receiver_held, sender_ids); others > 0) {
      problems.push_back(std::to_string(others) + " messages stored from unknown peers");
    }
    std::ostringstream summary;
    summary << "round " << round + 1 << "/" << load.rounds << ": " << senders.size() << " senders, "
            << messages << " messages, " << bytes / 1'000'000 << " MB, "
            << std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count()
            << " s so far\n  shown: " << shown_total << " (" << shown_damage
            << ")\n  stored: " << stored_damage
            << "\n  delivered but not stored under its author: " << not_stored
            << "; never delivered: " << never_delivered;
    // Events the receiver announced as dropped are not missing; the store must still hold them.
    if (dropped_messages > 0) {
      summary << "\n  (the receiver dropped " << dropped_messages
              << " message events for this slow reader, and said so)";
      if (shown_damage.lost <= dropped_messages) shown_damage.lost = 0;
    }
    const bool clean =
        shown_damage.clean() && stored_damage.clean() && not_stored == 0 && never_delivered == 0;
    if (clean) std::cout << summary.str() << std::endl;
    EXPECT_TRUE(clean) << summary.str();
    EXPECT_TRUE(problems.empty()) << problems.size() << " problems, the first: "
                                  << (problems.empty() ? "" : problems.front());
    if (HasFailure()) break;  // the damage is shown; more rounds would only add to it
  }
  EXPECT_EQ(Database(receiver.data_dir()).integrity_check(), "ok");
}

// The soak: rounds of every sender writing at once, and now and then a kill -9 of a random sender
// or of the receiver mid-round, restarted on its data dir and port. After each round (once every
// outbox is empty) the receiver must hold exactly what each sender committed, once, in order, under
// its author. PEERCHAT_SOAK_ROUNDS, PEERCHAT_SOAK_SENDERS and PEERCHAT_SOAK_SECONDS size it;
// scripts/soak.sh runs it.
class Soak {
 public:
  Soak(int senders, std::uint32_t seed) : random_(seed) {
    receiver_ = std::make_unique<Peer>("receiver", root_);
    receiver_port_ = receiver_->port();
    for (int s = 0; s < senders; ++s) {
      senders_.push_back(
          std::make_unique<Peer>(name(static_cast<std::size_t>(s)), root_,
                                 std::vector<std::string>{"--connect", receiver_->address()}));
      sender_ports_.push_back(senders_.back()->port());
      sender_ids_.insert(senders_.back()->id());
    }
    for (auto& sender : senders_) {
      if (!both_connected(*receiver_, *sender)) throw std::runtime_error("no session");
      sender_events_.push_back(std::make_unique<EventStream>(*sender));
    }
    receiver_events_ = std::make_unique<EventStream>(*receiver_);
    told_.resize(senders_.size());
    sender_held_.resize(senders_.size());
  }

  // One round; false (with the failure reported) once something is wrong.
  bool round(int number, Clock::time_point give_up) {
    const std::size_t count = senders_.size();
    std::vector<std::vector<std::size_t>> sizes(count);
    for (std::size_t s = 0; s < count; ++s) {
      const auto messages = chatty(s) ? 1'000 + random_() % 5'000 : 200 + random_() % 1'300;
      for (std::size_t i = 0; i < messages; ++i) sizes[s].push_back(text_size(s, random_));
    }
    auto line_of = [&sizes, number](std::size_t s) {
      return [&sizes, number, s](int i) {
        return "/msg receiver " +
               text_for(static_cast<int>(s), number, i, sizes[s][static_cast<std::size_t>(i)]);
      };
    };
    // The round is over once each sender's current process queued what it was given.
    std::vector<std::size_t> queued_before(count);
    std::vector<std::size_t> to_queue(count);
    for (std::size_t s = 0; s < count; ++s) {
      queued_before[s] = told_[s].queued;
      to_queue[s] = sizes[s].size();
    }
    const auto deadline = std::min(give_up, Clock::now() + 180s);
    Writers writers(count);
    for (std::size_t s = 0; s < count; ++s) {
      writers.start(s, senders_[s]->process(), line_of(s), 0, static_cast<int>(sizes[s].size()));
    }
    writers.open();
    // Kill at a random moment of the round (the moment is the point: nothing is waited for).
    const auto victim = random_() % 100;
    if (victim < 60) {
      std::this_thread::sleep_for(std::chrono::milliseconds(random_() % 4'000));
      if (victim < 35) {
        const std::size_t s = random_() % count;
        ++sender_kills_;
        restart_sender(s, writers);
        // Lines written to the dead process and not committed were never sent: write them again.
        const auto committed = committed_this_round(s, number);
        if (!committed) return false;
        queued_before[s] = told_[s].queued;
        to_queue[s] = sizes[s].size() - static_cast<std::size_t>(*committed);
        writers.start(s, senders_[s]->process(), line_of(s), *committed,
                      static_cast<int>(sizes[s].size()));
      } else {
        ++receiver_kills_;
        receiver_->process().signal(SIGKILL);
        receiver_->process().wait_exit(5s);
        receiver_events_.reset();
        receiver_.reset();
        receiver_ = std::make_unique<Peer>(
            "receiver", root_, std::vector<std::string>{"--port", std::to_string(receiver_port_)});
        receiver_events_ = std::make_unique<EventStream>(*receiver_);
      }
    }
    if (!writers.finish(deadline)) {
      ADD_FAILURE() << "round " << number + 1 << ": a sender stopped reading its stdin";
      return false;
    }
    // Everything queued and every outbox empty: everything was acknowledged, so it must be stored.
    // Polled: the processes only tell through their stores and streams.
    bool settled = false;
    for (int polls = 0; polls < 10'000 && !settled && Clock::now() < deadline; ++polls) {
      take_all_waiting();
      settled = true;
      for (std::size_t s = 0; s < count && settled; ++s) {
        settled = told_[s].queued - queued_before[s] >= to_queue[s] &&
                  Database(senders_[s]->data_dir()).outbox_size() == 0;
      }
      if (!settled) std::this_thread::sleep_for(100ms);
    }
    take_all_waiting();
    return check("round " + std::to_string(number + 1), settled, receiver_held_, sender_held_);
  }

  // Everything again, read from scratch rather than added up round by round.
  bool check_all(int rounds) {
    Holdings receiver_held;
    std::vector<Holdings> sender_held(senders_.size());
    return check("all " + std::to_string(rounds) + " rounds", true, receiver_held, sender_held);
  }

  void print_figures(int rounds, Clock::duration took) {
    std::size_t messages = 0;
    std::size_t bytes = 0;
    for (const auto& [author, stored] : receiver_held_.incoming) {
      messages += stored.in_order.size();
      for (const auto& message : stored.in_order) bytes += message.bytes;
    }
    std::cout << "soak: " << rounds << " rounds, " << senders_.size() << " senders, " << messages
              << " messages (" << bytes / 1'000'000 << " MB) stored, " << sender_kills_
              << " senders and " << receiver_kills_ << " receivers killed (kill -9), "
              << std::chrono::duration_cast<std::chrono::seconds>(took).count() << " s"
              << std::endl;
  }

 private:
  static std::string name(std::size_t s) { return "s" + std::to_string(s); }

  void restart_sender(std::size_t s, Writers& writers) {
    senders_[s]->process().signal(SIGKILL);
    senders_[s]->process().wait_exit(5s);
    writers.join(s);                              // its writes fail at once now
    take_waiting(*sender_events_[s], &told_[s]);  // what it told before it died
    sender_events_[s].reset();
    senders_[s].reset();
    senders_[s] = std::make_unique<Peer>(
        name(s), root_, std::vector<std::string>{"--port", std::to_string(sender_ports_[s])});
    sender_events_[s] = std::make_unique<EventStream>(*senders_[s]);
  }

  // How many of this round's lines sender `s` committed (a prefix of them, in order).
  std::optional<int> committed_this_round(std::size_t s, int number) {
    const std::string prefix = name(s) + "-r" + std::to_string(number) + "-";
    std::vector<int> indices;
    update(sender_held_[s], senders_[s]->data_dir());
    for (const auto& message : sender_held_[s].outgoing[receiver_->id()].in_order) {
      if (message.key.rfind(prefix, 0) == 0) {
        indices.push_back(std::atoi(message.key.c_str() + prefix.size()));
      }
    }
    for (std::size_t k = 0; k < indices.size(); ++k) {
      if (indices[k] != static_cast<int>(k)) {
        ADD_FAILURE() << name(s) << " committed its lines out of order at " << k;
        return std::nullopt;
      }
    }
    return static_cast<int>(indices.size());
  }

  void take_all_waiting() {
    take_waiting(*receiver_events_, nullptr);  // only so that they do not pile up
    for (std::size_t s = 0; s < senders_.size(); ++s) take_waiting(*sender_events_[s], &told_[s]);
  }

  // The receiver holds exactly what each sender committed, once, in order, under its author.
  bool check(const std::string& after, bool settled, Holdings& receiver_held,
             std::vector<Holdings>& sender_held) {
    update(receiver_held, receiver_->data_dir());
    Damage damage;
    std::size_t not_stored = 0;
    std::size_t outbox = 0;
    for (std::size_t s = 0; s < senders_.size(); ++s) {
      update(sender_held[s], senders_[s]->data_dir());
      const Stored& sent = sender_held[s].outgoing[receiver_->id()];
      const Stored& stored = receiver_held.incoming[senders_[s]->id()];
      damage += compare(sent.in_order, stored.in_order);
      const std::set<std::string> delivered(told_[s].delivered.begin(), told_[s].delivered.end());
      not_stored += delivered_not_stored(delivered, stored, sent);
      outbox += static_cast<std::size_t>(Database(senders_[s]->data_dir()).outbox_size());
    }
    const std::size_t others = count_from_others(receiver_held, sender_ids_);
    if (settled && damage.clean() && not_stored == 0 && others == 0) return true;
    ADD_FAILURE() << "after " << after << " (" << sender_kills_ << " senders and "
                  << receiver_kills_ << " receivers killed so far"
                  << (settled ? "" : "; it never settled") << "): " << damage
                  << "; delivered but not stored under its author: " << not_stored
                  << "; still in outboxes: " << outbox << "; from unknown peers: " << others;
    return false;
  }

  TempDir root_;
  std::mt19937 random_;
  std::unique_ptr<Peer> receiver_;
  int receiver_port_ = 0;
  std::unique_ptr<EventStream> receiver_events_;
  std::vector<std::unique_ptr<Peer>> senders_;
  std::vector<int> sender_ports_;
  std::set<std::string> sender_ids_;
  std::vector<std::unique_ptr<EventStream>> sender_events_;
  std::vector<SenderEvents> told_;  // what each sender's events said, over all its lives
  Holdings receiver_held_;
  std::vector<Holdings> sender_held_;
  int sender_kills_ = 0;
  int receiver_kills_ = 0;
};

TEST(FanInSoak, KillsAndRestartsLoseNothingAndMisattributeNothing) {
  if (!soak_requested()) GTEST_SKIP() << "opt-in: PEERCHAT_SOAK=1 (or scripts/soak.sh)";
  const int rounds = env_or("PEERCHAT_SOAK_ROUNDS", 30);
  const auto budget = std::chrono::seconds(env_or("PEERCHAT_SOAK_SECONDS", 1'800));
  const auto started = Clock::now();
  Soak soak(env_or("PEERCHAT_SOAK_SENDERS", 6), 20260510);
  int done = 0;
  while (done < rounds && Clock::now() < started + budget) {
    if (!soak.round(done, started + budget)) break;
    ++done;
  }
  soak.print_figures(done, Clock::now() - started);
  ASSERT_EQ(done, rounds) << "failed, or ran out of time (PEERCHAT_SOAK_SECONDS)";
  EXPECT_TRUE(soak.check_all(done));
}

}  // namespace
}  // namespace peerchat::testing
