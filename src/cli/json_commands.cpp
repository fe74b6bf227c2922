#include "cli/json_commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace peerchat::cli {
namespace {

using json = nlohmann::ordered_json;

node::event::Result failed(std::string id, std::string command, Code code, std::string message) {
  return node::event::Result{std::move(id), std::move(command), false,
                             code,          std::move(message), nullptr};
}

node::event::Result succeeded(std::string id, std::string command, json data = json::object()) {
  return node::event::Result{std::move(id),
                             std::move(command),
                             true,
                             Code::usage,
                             {},
                             std::make_shared<const json>(std::move(data))};
}

// A string field, or nullopt when missing or not a string.
std::optional<std::string> text_field(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

JsonCommands::JsonCommands(node::Node& node, node::EventSink& results, Hooks hooks)
    : node_(node), results_(results), hooks_(std::move(hooks)) {}

void JsonCommands::answer(node::event::Result result) {
  results_.emit(std::move(result));
}

bool JsonCommands::handle(std::string_view line) {
  const auto request = nlohmann::json::parse(line, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    node_.report_error(Code::usage,
                       "a line starting with '{' must be one JSON object, e.g. "
                       "{\"id\":\"1\",\"cmd\":\"peers\"}");
    return true;
  }
  std::string id;
  if (auto it = request.find("id"); it != request.end() && (it->is_string() || it->is_number())) {
    id = it->is_string() ? it->get<std::string>() : it->dump();
  } else {
    node_.report_error(Code::usage,
                       "a JSON command needs an \"id\" (string or number) to "
                       "answer under; nothing was done");
    return true;
  }
  const std::string command = text_field(request, "cmd").value_or("");
  auto usage = [&](std::string message) {
    answer(failed(id, command, Code::usage, std::move(message)));
    return true;
  };

  // The node's typed commands; help and quit belong to the front end.
  auto run = [&](node::Command typed) {
    node_.execute(id, std::move(typed),
                  [this](node::event::Result result) { answer(std::move(result)); });
    return true;
  };
  if (command == "send") {
    const auto peer = text_field(request, "peer");
    const auto text = text_field(request, "text");
    if (!peer || !text) return usage("send needs \"peer\" and \"text\" (strings)");
    if (auto target = node_.find_peer(*peer); target && !node_.queue_has_room(*target)) {
      return false;  // waits, like a /msg line
    }
    return run(node::command::Send{*peer, *text});
  }
  if (command == "peers") return run(node::command::ListPeers{});
  if (command == "history") {
    const auto peer = text_field(request, "peer");
    if (!peer) return usage("history needs \"peer\"");
    std::size_t count = 20;
    if (auto it = request.find("count"); it != request.end()) {
      if (!it->is_number_unsigned() || it->get<std::size_t>() == 0 ||
          it->get<std::size_t>() > 10'000) {
        return usage("history's \"count\" is a number from 1 to 10000");
      }
      count = it->get<std::size_t>();
    }
    return run(node::command::History{*peer, count});
  }
  if (command == "connect") {
    const auto target = text_field(request, "target");
    if (!target) return usage("connect needs \"target\": HOST:PORT or ID@HOST:PORT");
    // Answered once the session is open (with the peer), or with why it could not be.
    return run(node::command::Connect{*target});
  }
  if (command == "sendfile") {
    const auto peer = text_field(request, "peer");
    auto paths = request.find("paths");
    const bool strings = paths != request.end() && paths->is_array() && !paths->empty() &&
                         std::all_of(paths->begin(), paths->end(),
                                     [](const nlohmann::json& path) { return path.is_string(); });
    if (!peer || !strings) {
      return usage("sendfile needs \"peer\" and \"paths\" (a non-empty list of strings)");
    }
    std::vector<std::filesystem::path> list;
    for (const auto& path : *paths) list.emplace_back(path.get<std::string>());
    // Answered once the manifest is built and offered, with the transfer's ID.
    return run(node::command::SendFile{*peer, std::move(list)});
  }
  if (command == "accept" || command == "decline" || command == "cancel") {
    const auto transfer = text_field(request, "transfer");
    if (!transfer) {
      return usage(fmt::format("{} needs \"transfer\": a transfer ID or a prefix of it", command));
    }
    if (command == "decline") return run(node::command::Decline{*transfer});
    if (command == "cancel") return run(node::command::Cancel{*transfer});
    std::filesystem::path dir;
    if (auto it = request.find("dir"); it != request.end()) {
      if (!it->is_string()) return usage("accept's \"dir\" is a string: the folder to save into");
      dir = it->get<std::string>();
    }
    return run(node::command::Accept{*transfer, std::move(dir)});
  }
  if (command == "transfers") return run(node::command::ListTransfers{});
  if (command == "help") {
    answer(succeeded(id, command, {{"text", hooks_.help ? std::string(hooks_.help()) : ""}}));
    return true;
  }
  if (command == "query") {
    // Like /query: plain lines go to this peer from now on; no "peer" stops it.
    const auto peer = text_field(request, "peer");
    if (!peer) {
      if (hooks_.query) hooks_.query(std::nullopt);
      answer(succeeded(id, command, {{"peer", nullptr}}));
      return true;
    }
    auto target = node_.find_peer(*peer);
    if (!target) {
      answer(failed(id, command, target.failure().code, target.failure().message));
      return true;
    }
    if (hooks_.query) hooks_.query(*target);
    answer(succeeded(id, command,
                     {{"peer", target->to_string()}, {"name", node_.display_name(*target)}}));
    return true;
  }
  if (command == "quit") {
    answer(succeeded(id, command));
    if (hooks_.quit) hooks_.quit();
    return true;
  }
  answer(failed(
      id, command, Code::unknown_command,
      fmt::format("unknown command \"{}\"; the commands are send, peers, history, "
                  "connect, query, sendfile, accept, decline, cancel, transfers, help and quit",
                  command)));
  return true;
}

}  // namespace peerchat::cli
