// cli: commands as JSON lines, the typed form of every REPL command for scripts and bots:
//   {"id":"7","cmd":"send","peer":"bob","text":"hi"}
// Each gets exactly one `result` event with the same "id": {"ok":true,...} with the answer's
// fields, or {"ok":false,"code":...,"message":...} with a code from the registry. Results go
// through the event bus, so they are numbered and ordered with every other event.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "node/node.hpp"

namespace peerchat::cli {

class JsonCommands {
 public:
  struct Hooks {
    std::function<void()> quit;
    std::function<std::string_view()> help;
    // The peer plain lines go to (like /query), or none.
    std::function<void(const std::optional<tls::PeerId>&)> query;
  };
  JsonCommands(node::Node& node, node::EventSink& results, Hooks hooks);

  // False only when the command must wait (a send to a peer whose queue is full): nothing was
  // done and no result sent; offer the line again later.
  bool handle(std::string_view line);

 private:
  void answer(node::event::Result result);

  node::Node& node_;
  node::EventSink& results_;
  Hooks hooks_;
};

}  // namespace peerchat::cli
