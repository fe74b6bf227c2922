// cli: events as lines for people (the REPL), and JSON lines for scripts (--json).
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cli/output_queue.hpp"
#include "node/event_bus.hpp"
#include "node/events.hpp"

namespace peerchat::cli {

// Replaces control characters (including ESC) so that nothing a peer sends can move the
// cursor, recolour or retitle the user's terminal.
std::string sanitize_for_terminal(std::string_view text);

// One or more human-readable lines for an event, without a trailing newline.
std::string render_human(const node::Event& event);

// Writes each event as one JSON line: at once to a FILE (flushed, so a script sees it at
// once), or into a LineOutput such as the bounded queue that --json peers use. Events heard
// from the bus carry their number as "event_seq".
class JsonSink final : public node::EventSink, public node::EventSubscriber {
 public:
  explicit JsonSink(std::FILE* out);
  explicit JsonSink(LineOutput& out) : out_(&out) {}
  void emit(const node::Event& event) override { on_event(0, event); }
  void on_event(std::uint64_t seq, const node::Event& event) override;

 private:
  std::unique_ptr<DirectOutput> owned_;
  LineOutput* out_;
};

// Renders events for people and hands the lines to `print` (e.g. the terminal). Transfer
// progress goes only to `live` (a line under a key, redrawn in place; an empty line removes
// it), and without `live` (output that is not a terminal) is not shown at all.
class HumanSink final : public node::EventSink, public node::EventSubscriber {
 public:
  using Live = std::function<void(const std::string& key, std::string line)>;
  explicit HumanSink(std::function<void(std::string)> print, Live live = nullptr)
      : print_(std::move(print)), live_(std::move(live)) {}
  void emit(const node::Event& event) override;
  void on_event(std::uint64_t, const node::Event& event) override { emit(event); }

 private:
  std::function<void(std::string)> print_;
  Live live_;
};

}  // namespace peerchat::cli
