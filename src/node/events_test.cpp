// The direct encoder of the per-message events writes exactly what dumping the JSON tree
// would, for every kind of text: quotes, backslashes, every control character, multi-byte
// UTF-8, and random mixes of them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "node/events.hpp"

namespace peerchat::node {
namespace {

std::string reference(const Event& event, std::uint64_t seq) {
  auto object = to_json(event);
  if (seq != 0) object["event_seq"] = seq;
  return object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::vector<Event> per_message_events(const std::string& text, const std::string& name,
                                      std::uint8_t who = 1) {
  const tls::PeerId peer(std::array<std::uint8_t, 32>{who, 2, 3, 4, 250});
  wire::MessageId id{};
  id[0] = 0xAB;
  id[15] = 0x01;
  return {event::Message{peer, name, id, 42, -5, text},
          event::Message{peer, name, id, 0, 1'700'000'000'123, text},
          event::Queued{id, peer, name, text}, event::Sent{id, peer, name},
          event::Delivered{id, peer, name}};
}

TEST(EventsJson, DirectLinesMatchTheJsonTreeForTrickyTexts) {
  std::vector<std::string> texts = {"",
                                    "plain",
                                    "quote \" and back\\slash",
                                    "tab\tnew\nline\r",
                                    "\b\f",
                                    "ünïcödé ✓ 🙂",
                                    "\x7f del stays"};
  std::string controls;
  for (char c = 1; c < 0x20; ++c) controls += c;
  texts.push_back(controls);
  for (const auto& text : texts) {
    for (const auto& event : per_message_events(text, "bob \"b\"")) {
      EXPECT_EQ(to_json_line(event, 0), reference(event, 0)) << text;
      EXPECT_EQ(to_json_line(event, 18'446'744'073'709'551'615u),
                reference(event, 18'446'744'073'709'551'615u));
    }
  }
}

TEST(EventsJson, DirectLinesMatchTheJsonTreeForRandomTexts) {
  std::mt19937 random(7);
  // Long clean runs too: the encoder skips 8 clean bytes at a time.
  const std::vector<std::string> pieces = {
      "a",    "\"", "\\", "\n", "\x01", "\x1f", " ", "é",          "✓",
      "🙂", "\t", "/",  "{}", "~",    "\x7f", "!", "abcdefghij", std::string(1, '\0'),
      "\x1e"};
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int length = static_cast<int>(random() % 40);
    for (int i = 0; i < length; ++i) text += pieces[random() % pieces.size()];
    // Peers alternate: the encoder's remembered ID text must follow.
    for (const auto& event :
         per_message_events(text, text, static_cast<std::uint8_t>(1 + round % 3))) {
      ASSERT_EQ(to_json_line(event, static_cast<std::uint64_t>(round)),
                reference(event, static_cast<std::uint64_t>(round)));
    }
  }
}

TEST(EventsJson, OtherEventsAndInvalidUtf8TakeTheGeneralPath) {
  const tls::PeerId peer(std::array<std::uint8_t, 32>{9});
  const Event broken = event::Message{peer, "x", {}, 1, 1, std::string("bad \xff byte")};
  EXPECT_EQ(to_json_line(broken, 3), reference(broken, 3));  // replaced, not thrown
  const Event problem = error_event(Code::usage, "no \"peer\" given");
  EXPECT_EQ(to_json_line(problem, 9), reference(problem, 9));
}

}  // namespace
}  // namespace peerchat::node
