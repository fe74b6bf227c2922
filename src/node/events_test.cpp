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

const std::string kId = "1a2b" + std::string(26, '0') + "ff";

// The transfer_* events and the transfers list: the fields scripts rely on (README, JSON).
class TransferEventsJson : public ::testing::Test {
 protected:
  TransferEventsJson() {
    view.id[0] = 0x1a;
    view.id[1] = 0x2b;
    view.id[15] = 0xff;
    view.peer = tls::PeerId(std::array<std::uint8_t, 32>{7, 7});
    view.direction = transfer::Direction::in;
    view.title = "photos";
    view.files = 2;
    view.bytes = 10;
    view.total_bytes = 300;
    files = {{"photos/a.jpg", 100, {}}, {"photos/b.jpg", 200, {}}};
    files[1].sha256[0] = 0xab;
  }
  nlohmann::ordered_json of(event::Transfer::Kind kind) const {
    event::Transfer e;
    e.kind = kind;
    e.view = view;
    e.name = "bob";
    e.files = files;
    e.free_bytes = 5000;
    e.download_dir = "/d/peerchat";
    e.bytes_per_second = 1234;
    e.by_peer = true;
    return to_json(Event{e});
  }
  transfer::TransferView view;
  std::vector<transfer::FileView> files;
};

TEST_F(TransferEventsJson, EveryKindNamesTheTransferPeerAndDirection) {
  using Kind = event::Transfer::Kind;
  const std::vector<std::pair<Kind, std::string>> kinds = {
      {Kind::offered, "transfer_offered"},   {Kind::accepted, "transfer_accepted"},
      {Kind::progress, "transfer_progress"}, {Kind::paused, "transfer_paused"},
      {Kind::resumed, "transfer_resumed"},   {Kind::done, "transfer_done"},
      {Kind::failed, "transfer_failed"},     {Kind::cancelled, "transfer_cancelled"},
      {Kind::declined, "transfer_declined"}};
  for (const auto& [kind, name] : kinds) {
    const auto j = of(kind);
    EXPECT_EQ(j["event"], name);
    EXPECT_EQ(j["transfer"], kId);
    EXPECT_EQ(j["peer"], view.peer.to_string());
    EXPECT_EQ(j["name"], "bob");
    EXPECT_EQ(j["direction"], "in");
  }
  view.direction = transfer::Direction::out;
  EXPECT_EQ(of(Kind::declined)["direction"], "out");
}

TEST_F(TransferEventsJson, EachKindCarriesItsOwnFields) {
  using Kind = event::Transfer::Kind;
  const auto offered = of(Kind::offered);
  ASSERT_EQ(offered["files"].size(), 2u);
  EXPECT_EQ(offered["files"][0]["path"], "photos/a.jpg");
  EXPECT_EQ(offered["files"][0]["size"], 100);
  EXPECT_FALSE(offered["files"][0].contains("sha256"));  // only once verified
  EXPECT_EQ(offered["total_bytes"], 300);
  EXPECT_EQ(offered["free_bytes"], 5000);
  EXPECT_EQ(offered["download_dir"], "/d/peerchat");
  EXPECT_EQ(offered["title"], "photos");

  const auto progress = of(Kind::progress);
  EXPECT_EQ(progress["bytes"], 10);
  EXPECT_EQ(progress["total_bytes"], 300);
  EXPECT_EQ(progress["bytes_per_second"], 1234);

  const auto done = of(Kind::done);
  ASSERT_EQ(done["files"].size(), 2u);
  EXPECT_EQ(done["files"][1]["path"], "photos/b.jpg");
  EXPECT_EQ(done["files"][1]["size"], 200);
  EXPECT_EQ(done["files"][1]["sha256"], "ab" + std::string(62, '0'));

  view.code = Code::disk_full;
  view.message = "no room";
  for (Kind kind : {Kind::failed, Kind::paused}) {
    const auto j = of(kind);
    EXPECT_EQ(j["code"], "disk_full");
    EXPECT_EQ(j["message"], "no room");
  }
  EXPECT_EQ(of(Kind::cancelled)["by"], "peer");
  event::Transfer local{Kind::cancelled, view, "bob", {}, 0, 0, false, {}};
  EXPECT_EQ(to_json(Event{local})["by"], "local");
}

TEST_F(TransferEventsJson, TheTransfersListHasEveryColumn) {
  view.state = transfer::State::failed;
  view.code = Code::write_failed;
  view.message = "read-only";
  view.destination = "/tmp/d";
  const auto j = to_json(Event{event::Transfers{{TransferSummary{view, "bob"}}}});
  EXPECT_EQ(j["event"], "transfers");
  ASSERT_EQ(j["transfers"].size(), 1u);
  const auto& t = j["transfers"][0];
  EXPECT_EQ(t["id"], kId);
  EXPECT_EQ(t["peer"], view.peer.to_string());
  EXPECT_EQ(t["name"], "bob");
  EXPECT_EQ(t["direction"], "in");
  EXPECT_EQ(t["state"], "failed");
  EXPECT_EQ(t["bytes"], 10);
  EXPECT_EQ(t["total_bytes"], 300);
  EXPECT_EQ(t["files"], 2);
  EXPECT_EQ(t["title"], "photos");
  EXPECT_EQ(t["destination"], "/tmp/d");
  EXPECT_EQ(t["message"], "read-only");
  EXPECT_EQ(t["code"], "write_failed");
  view.state = transfer::State::moving;
  EXPECT_FALSE(to_json(TransferSummary{view, "bob"}).contains("code"));
}

}  // namespace
}  // namespace peerchat::node
