#include "node/events.hpp"

#include <nlohmann/json.hpp>

namespace peerchat::node {
namespace {

using json = nlohmann::ordered_json;

json summary(json object, const PeerSummary& peer) {
  object["peer"] = peer.id.to_string();
  object["name"] = peer.name;
  object["fingerprint"] = peer.id.fingerprint();
  object["address"] = peer.address;
  object["direction"] = peer.direction;
  return object;
}

struct ToJson {
  json operator()(const event::Ready& e) const {
    return {{"event", "ready"},
            {"name", e.name},
            {"id", e.id.to_string()},
            {"fingerprint", e.id.fingerprint()},
            {"port", e.port}};
  }
  json operator()(const event::Connected& e) const {
    return summary({{"event", "connected"}}, e.peer);
  }
  json operator()(const event::Queued& e) const {
    return {{"event", "queued"},
            {"id", wire::to_hex(e.id)},
            {"peer", e.peer.to_string()},
            {"name", e.name}};
  }
  json operator()(const event::Sent& e) const {
    return {{"event", "sent"},
            {"id", wire::to_hex(e.id)},
            {"peer", e.peer.to_string()},
            {"name", e.name}};
  }
  json operator()(const event::History& e) const {
    json list = json::array();
    for (const auto& m : e.messages) {
      list.push_back({{"id", wire::to_hex(m.id)},
                      {"direction", m.outgoing ? "out" : "in"},
                      {"seq", m.seq},
                      {"text", m.text},
                      {"timestamp", m.timestamp_ms},
                      {"state", m.state}});
    }
    return {{"event", "history"},
            {"peer", e.peer.to_string()},
            {"name", e.name},
            {"messages", std::move(list)}};
  }
  json operator()(const event::Message& e) const {
    return {{"event", "message"},
            {"peer", e.peer.to_string()},
            {"name", e.name},
            {"id", wire::to_hex(e.id)},
            {"seq", e.seq},
            {"text", e.text},
            {"timestamp", e.timestamp_ms}};
  }
  json operator()(const event::Delivered& e) const {
    return {{"event", "delivered"},
            {"id", wire::to_hex(e.id)},
            {"peer", e.peer.to_string()},
            {"name", e.name}};
  }
  json operator()(const event::Disconnected& e) const {
    return {{"event", "disconnected"},
            {"peer", e.peer.to_string()},
            {"name", e.name},
            {"reason", name(e.reason)},
            {"message", e.message}};
  }
  json operator()(const event::Peers& e) const {
    json list = json::array();
    for (const auto& peer : e.peers) list.push_back(summary(json::object(), peer));
    return {{"event", "peers"}, {"peers", std::move(list)}};
  }
  json operator()(const event::Problem& e) const {
    json j = {
        {"event", e.warning ? "warning" : "error"}, {"code", name(e.code)}, {"message", e.message}};
    if (e.peer) j["peer"] = e.peer->to_string();
    if (!e.address.empty()) j["address"] = e.address;
    return j;
  }
  json operator()(const event::Result& e) const {
    json j = {{"event", "result"}, {"id", e.request_id}, {"cmd", e.command}, {"ok", e.ok}};
    if (!e.ok) {
      j["code"] = name(e.code);
      j["message"] = e.message;
    } else if (e.data) {
      for (const auto& [key, value] : e.data->items()) j[key] = value;
    }
    return j;
  }
};

}  // namespace

json to_json(const Event& event) {
  return std::visit(ToJson{}, event);
}

std::string_view event_name(const Event& event) {
  struct Name {
    std::string_view operator()(const event::Ready&) const { return "ready"; }
    std::string_view operator()(const event::Connected&) const { return "connected"; }
    std::string_view operator()(const event::Queued&) const { return "queued"; }
    std::string_view operator()(const event::Sent&) const { return "sent"; }
    std::string_view operator()(const event::Message&) const { return "message"; }
    std::string_view operator()(const event::Delivered&) const { return "delivered"; }
    std::string_view operator()(const event::Disconnected&) const { return "disconnected"; }
    std::string_view operator()(const event::Peers&) const { return "peers"; }
    std::string_view operator()(const event::History&) const { return "history"; }
    std::string_view operator()(const event::Problem& e) const {
      return e.warning ? "warning" : "error";
    }
    std::string_view operator()(const event::Result&) const { return "result"; }
  };
  return std::visit(Name{}, event);
}

}  // namespace peerchat::node
