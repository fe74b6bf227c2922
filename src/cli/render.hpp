// cli: events as lines for people (the REPL), and JSON lines for scripts (--json).
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "node/events.hpp"

namespace peerchat::cli {

// Replaces control characters (including ESC) so that nothing a peer sends can move the
// cursor, recolour or retitle the user's terminal.
std::string sanitize_for_terminal(std::string_view text);

// One or more human-readable lines for an event, without a trailing newline.
std::string render_human(const node::Event& event);

// Writes each event as one JSON line and flushes, so a script sees it at once.
class JsonSink final : public node::EventSink {
 public:
  explicit JsonSink(std::FILE* out) : out_(out) {}
  void emit(const node::Event& event) override;

 private:
  std::FILE* out_;
};

// Renders events for people and hands the lines to `print` (e.g. the terminal).
class HumanSink final : public node::EventSink {
 public:
  explicit HumanSink(std::function<void(std::string)> print) : print_(std::move(print)) {}
  void emit(const node::Event& event) override { print_(render_human(event)); }

 private:
  std::function<void(std::string)> print_;
};

}  // namespace peerchat::cli
