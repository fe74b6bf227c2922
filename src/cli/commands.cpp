#include "cli/commands.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

#include "cli/words.hpp"

namespace peerchat::cli {
namespace {

// What a leading ~ in a typed path stands for, as in a shell; empty leaves it alone.
std::string_view home_folder() {
  const char* home = std::getenv("HOME");
  return home != nullptr ? std::string_view(home) : std::string_view();
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// Splits "word rest of line" at the first run of spaces.
std::pair<std::string_view, std::string_view> split_word(std::string_view text) {
  text = trim(text);
  const auto space = text.find_first_of(" \t");
  if (space == std::string_view::npos) return {text, {}};
  return {text.substr(0, space), trim(text.substr(space))};
}

}  // namespace

CommandInterpreter::CommandInterpreter(node::Node& node, Hooks hooks, bool wait_when_full,
                                       node::EventSink* results)
    : node_(node), hooks_(std::move(hooks)), wait_when_full_(wait_when_full) {
  if (results != nullptr) {
    json_.emplace(node, *results,
                  JsonCommands::Hooks{[this] {
                                        if (hooks_.quit) hooks_.quit();
                                      },
                                      [] { return command_help(); },
                                      [this](const std::optional<tls::PeerId>& peer) {
                                        query_ = peer;
                                        if (hooks_.query) {
                                          hooks_.query(peer, peer ? node_.display_name(*peer) : "");
                                        }
                                      }});
  }
}

bool CommandInterpreter::handle_line(std::string_view raw) {
  std::string_view line = raw;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (trim(line).empty()) return true;
  if (line.front() == '{' && json_) return json_->handle(line);
  if (line.front() != '/') return send_plain(line);

  auto [command, rest] = split_word(line);
  if (command == "/connect") {
    if (rest.empty()) return usage("usage: /connect HOST:PORT or /connect ID@HOST:PORT");
    node_.connect(rest);
  } else if (command == "/peers") {
    node_.list_peers();
  } else if (command == "/msg") {
    auto [peer, text] = split_word(rest);
    if (peer.empty() || text.empty()) return usage("usage: /msg PEER TEXT");
    return send(peer, text);
  } else if (command == "/history") {
    auto [peer, count_text] = split_word(rest);
    if (peer.empty()) return usage("usage: /history PEER [N]");
    std::size_t count = 20;
    if (!count_text.empty()) {
      const auto [end, error] =
          std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
      if (error != std::errc() || end != count_text.data() + count_text.size() || count == 0 ||
          count > 10'000) {
        return usage("usage: /history PEER [N], N from 1 to 10000");
      }
    }
    node_.show_history(peer, count);
  } else if (command == "/query") {
    if (rest.empty()) {
      query_.reset();
      if (hooks_.query) hooks_.query(std::nullopt, "");
      return true;
    }
    if (auto peer = node_.resolve_peer(rest)) {
      query_ = peer;
      if (hooks_.query) hooks_.query(query_, node_.display_name(*peer));
    }
  } else if (command == "/sendfile") {
    auto words = split_words(rest, home_folder());
    if (!words) return usage(words.failure().message);
    if (words->size() < 2) return usage("usage: /sendfile PEER PATH... (quote paths with spaces)");
    std::vector<std::filesystem::path> paths(words->begin() + 1, words->end());
    node_.send_files(words->front(), std::move(paths));
  } else if (command == "/accept") {
    auto words = split_words(rest, home_folder());
    if (!words) return usage(words.failure().message);
    if (words->empty() || words->size() > 2) return usage("usage: /accept TRANSFER [DIR]");
    node_.accept(words->front(),
                 words->size() == 2 ? std::filesystem::path((*words)[1]) : std::filesystem::path());
  } else if (command == "/decline" || command == "/cancel") {
    if (rest.empty() || rest.find_first_of(" \t") != std::string_view::npos) {
      return usage(fmt::format("usage: {} TRANSFER", command));
    }
    if (command == "/decline") {
      node_.decline(rest);
    } else {
      node_.cancel(rest);
    }
  } else if (command == "/transfers") {
    node_.show_transfers();
  } else if (command == "/quit" || command == "/exit") {
    if (hooks_.quit) hooks_.quit();
  } else if (command == "/help") {
    if (hooks_.show_help) hooks_.show_help(command_help());
  } else {
    node_.report_error(Code::unknown_command,
                       fmt::format("unknown command '{}'; /help lists the commands", command));
  }
  return true;
}

bool CommandInterpreter::usage(std::string message) {
  node_.report_error(Code::usage, std::move(message));
  return true;
}

bool CommandInterpreter::send(std::string_view peer_query, std::string_view text) {
  if (!wait_when_full_) {
    node_.send_message(peer_query, std::string(text));
    return true;
  }
  auto peer = node_.resolve_peer(peer_query);
  if (!peer) return true;  // reported
  if (!node_.queue_has_room(*peer)) return false;
  node_.send_message(*peer, std::string(text));
  return true;
}

bool CommandInterpreter::send_plain(std::string_view text) {
  if (query_) return send(query_->compact(), text);
  const auto connected = node_.connected_peers();
  if (connected.size() == 1) return send(connected.front().compact(), text);
  node_.report_error(
      Code::usage,
      connected.empty()
          ? "nobody is connected; /connect HOST:PORT first"
          : "several peers are connected; use /msg PEER TEXT or pick one with /query PEER");
  return true;
}

}  // namespace peerchat::cli
