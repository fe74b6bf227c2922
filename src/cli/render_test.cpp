#include "cli/render.hpp"

#include <gtest/gtest.h>

#include "cli/live_area.hpp"
#include "cli/transfer_render.hpp"

namespace peerchat::cli {
namespace {

TEST(Render, ControlCharactersNeverReachTheTerminal) {
  EXPECT_EQ(sanitize_for_terminal("plain text"), "plain text");
  EXPECT_EQ(sanitize_for_terminal("\x1b]0;pwned\x07"), "^[]0;pwned^G");
  EXPECT_EQ(sanitize_for_terminal("a\x1b[2Jb"), "a^[[2Jb");
  EXPECT_EQ(sanitize_for_terminal("tab\there"), "tab here");
  EXPECT_EQ(sanitize_for_terminal("del\x7f"), "del^?");
  // C1 control U+009B (CSI) in UTF-8 is replaced; ordinary accents are kept.
  EXPECT_EQ(sanitize_for_terminal("x\xc2\x9b"
                                  "1m h\xc3\xa9"),
            "x\xef\xbf\xbd"
            "1m h\xc3\xa9");
  for (unsigned char c = 0; c < 0x20; ++c) {
    const std::string out = sanitize_for_terminal(std::string(1, static_cast<char>(c)));
    for (char kept : out) EXPECT_GE(static_cast<unsigned char>(kept), 0x20);
  }
}

TEST(Render, MessagesFromPeersAreSanitised) {
  node::event::Message message;
  message.name = "evil\x1b[31m";
  message.text = "hello\x1b]2;title\x07";
  const std::string line = render_human(message);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_EQ(line.find('\x07'), std::string::npos);
}

node::event::Transfer transfer_event(node::event::Transfer::Kind kind) {
  node::event::Transfer e;
  e.kind = kind;
  e.view.id = {0x1a, 0x2b, 0x3c, 0x4d, 0x99};
  e.view.peer = tls::PeerId(std::array<std::uint8_t, 32>{3});
  e.view.direction = transfer::Direction::in;
  e.view.title = "photos";
  e.view.files = 2;
  e.view.total_bytes = 3 * 1024 * 1024;
  e.name = "bob";
  e.files = {{"photos/a.jpg", 1024 * 1024, {}}, {"photos/b.jpg", 2 * 1024 * 1024, {}}};
  return e;
}

TEST(RenderTransfers, SizesAndDurationsForPeople) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1024), "1.00 KiB");
  EXPECT_EQ(human_bytes(1536), "1.50 KiB");
  EXPECT_EQ(human_bytes(13 * 1024 * 1024 + 400 * 1024), "13.4 MiB");
  EXPECT_EQ(human_bytes(500ull << 30), "500 GiB");
  EXPECT_EQ(human_bytes(3ull << 40), "3.00 TiB");
  EXPECT_EQ(human_duration(0), "0s");
  EXPECT_EQ(human_duration(59), "59s");
  EXPECT_EQ(human_duration(185), "3m05s");
  EXPECT_EQ(human_duration(2 * 3600 + 7 * 60 + 9), "2h07m");
  EXPECT_EQ(human_duration(1'000'000), "?");
}

TEST(RenderTransfers, AnOfferSaysWhoWhatHowBigTheRoomAndHowToAnswer) {
  auto e = transfer_event(node::event::Transfer::Kind::offered);
  e.free_bytes = 10ull << 30;
  e.download_dir = "/home/al/Downloads/peerchat";
  const std::string text = render_human(e);
  EXPECT_NE(text.find("bob"), std::string::npos) << text;
  EXPECT_NE(text.find("2 files"), std::string::npos) << text;
  EXPECT_NE(text.find("3.00 MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("10.0 GiB free in the download folder /home/al/Downloads/peerchat"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("photos/b.jpg"), std::string::npos) << text;
  EXPECT_NE(text.find("/accept 1a2b3c4d [DIR]"), std::string::npos) << text;
  EXPECT_NE(text.find("/decline 1a2b3c4d"), std::string::npos) << text;
  EXPECT_EQ(text.find("NOT ENOUGH"), std::string::npos) << text;
  e.free_bytes = 1024;
  EXPECT_NE(render_human(e).find("NOT ENOUGH ROOM"), std::string::npos);
  e.free_bytes = 0;  // unknown: not claimed
  EXPECT_EQ(render_human(e).find("free"), std::string::npos);
}

TEST(RenderTransfers, PeerControlledStringsAreSanitised) {
  for (auto kind : {node::event::Transfer::Kind::offered, node::event::Transfer::Kind::progress,
                    node::event::Transfer::Kind::done, node::event::Transfer::Kind::failed,
                    node::event::Transfer::Kind::cancelled}) {
    auto e = transfer_event(kind);
    e.name = "evil\x1b[31m";
    e.view.title = "t\x1b]0;x\x07";
    e.view.message = "m\x1b[2J";
    e.view.destination = "/tmp/\x1b[1m";
    e.files[0].path = "a\x1b[Hb";
    e.by_peer = true;
    const std::string text = render_human(e);
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
  }
  node::event::Transfers list{
      {{transfer_event(node::event::Transfer::Kind::done).view, "\x1b[8m"}}};
  EXPECT_EQ(render_human(list).find('\x1b'), std::string::npos);
}

TEST(RenderTransfers, ProgressBarRateAndTimeLeft) {
  auto e = transfer_event(node::event::Transfer::Kind::progress);
  e.view.bytes = e.view.total_bytes / 4;
  e.bytes_per_second = 256 * 1024;
  const std::string line = progress_line(e);
  EXPECT_EQ(line.find("  1a2b3c4d [#####"), 0u) << line;
  EXPECT_NE(line.find("<- bob: photos"), std::string::npos) << line;
  EXPECT_NE(line.find("[#####...............]"), std::string::npos) << line;
  EXPECT_NE(line.find(" 25%"), std::string::npos) << line;
  EXPECT_NE(line.find("256 KiB/s"), std::string::npos) << line;
  EXPECT_NE(line.find("9s left"), std::string::npos) << line;  // 2.25 MiB at 256 KiB/s
  EXPECT_EQ(line.find('\n'), std::string::npos);
  e.view.bytes = e.view.total_bytes - 1;  // never 100% before the last byte
  EXPECT_NE(progress_line(e).find(" 99%"), std::string::npos);
  e.bytes_per_second = 0;
  EXPECT_NE(progress_line(e).find("waiting"), std::string::npos);
  e.view.state = transfer::State::paused;
  EXPECT_NE(progress_line(e).find("paused"), std::string::npos);
}

TEST(RenderTransfers, EndingsSayWhereAndWhy) {
  using Kind = node::event::Transfer::Kind;
  auto in = transfer_event(Kind::done);
  in.view.destination = "/home/me/Downloads/peerchat";
  in.files[0].path = "/home/me/Downloads/peerchat/photos/a.jpg";
  const std::string received = render_human(in);
  EXPECT_NE(received.find("/home/me/Downloads/peerchat/photos/a.jpg"), std::string::npos)
      << received;
  EXPECT_NE(received.find("verified"), std::string::npos) << received;
  auto out = transfer_event(Kind::done);
  out.view.direction = transfer::Direction::out;
  EXPECT_NE(render_human(out).find("bob verified 2 files"), std::string::npos);

  auto failed = transfer_event(Kind::failed);
  failed.view.code = Code::disk_full;
  failed.view.message = "the disk is full";
  const std::string why = render_human(failed);
  EXPECT_NE(why.find("the disk is full"), std::string::npos) << why;
  EXPECT_NE(why.find("disk_full"), std::string::npos) << why;
  auto cancelled = transfer_event(Kind::cancelled);
  cancelled.by_peer = false;
  EXPECT_NE(render_human(cancelled).find("cancelled by you"), std::string::npos);
  cancelled.by_peer = true;
  EXPECT_NE(render_human(cancelled).find("cancelled by bob"), std::string::npos);
  auto declined = transfer_event(Kind::declined);
  declined.view.direction = transfer::Direction::out;
  EXPECT_NE(render_human(declined).find("bob declined"), std::string::npos);
}

// Progress never becomes a printed line: only a live line (terminal), or nothing (a pipe).
TEST(RenderTransfers, ProgressGoesToTheLiveLineOnlyAndEndingsClearIt) {
  using Kind = node::event::Transfer::Kind;
  std::vector<std::string> printed;
  std::vector<std::pair<std::string, std::string>> live;
  HumanSink terminal(
      [&](std::string line) { printed.push_back(std::move(line)); },
      [&](const std::string& key, std::string line) { live.emplace_back(key, std::move(line)); });
  terminal.emit(transfer_event(Kind::progress));
  terminal.emit(transfer_event(Kind::progress));
  EXPECT_TRUE(printed.empty());
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].first, transfer::to_hex(transfer_event(Kind::progress).view.id));
  EXPECT_FALSE(live[1].second.empty());
  terminal.emit(transfer_event(Kind::done));
  ASSERT_EQ(live.size(), 3u);
  EXPECT_TRUE(live[2].second.empty());  // removed
  EXPECT_EQ(printed.size(), 1u);

  std::vector<std::string> piped;
  HumanSink pipe([&](std::string line) { piped.push_back(std::move(line)); });
  pipe.emit(transfer_event(Kind::progress));
  EXPECT_TRUE(piped.empty());
  pipe.emit(transfer_event(Kind::failed));
  EXPECT_EQ(piped.size(), 1u);
}

TEST(LiveLines, RedrawInPlaceAbovePrintedLines) {
  LiveArea area;
  // Nothing live: printed lines, then the input line.
  EXPECT_EQ(area.repaint({"hello"}, 80), "\r\x1b[Jhello\n");
  area.set("a", "bar a 1");
  area.set("b", "bar b 1");
  EXPECT_EQ(area.repaint({}, 80), "\r\x1b[Jbar a 1\nbar b 1\n");
  // Updates go back up over both live lines; printed lines come first and stay above.
  area.set("a", "bar a 2");
  EXPECT_EQ(area.repaint({"msg"}, 80), "\r\x1b[2A\x1b[Jmsg\nbar a 2\nbar b 1\n");
  area.set("a", "");
  EXPECT_EQ(area.repaint({}, 80), "\r\x1b[2A\x1b[Jbar b 1\n");
  EXPECT_EQ(area.drawn(), 1u);
  area.forget_drawn();  // the screen was wiped
  EXPECT_EQ(area.repaint({}, 80), "\r\x1b[Jbar b 1\n");
  // Never wider than the terminal (minus one column), so a live line never wraps.
  area.set("b", std::string(30, 'x'));
  EXPECT_EQ(area.repaint({}, 11), "\r\x1b[1A\x1b[J" + std::string(9, 'x') + "\xE2\x80\xA6\n");
}

TEST(LiveLines, FitWidthCutsWholeCodePoints) {
  EXPECT_EQ(fit_width("short", 10), "short");
  EXPECT_EQ(fit_width("ééééé", 5), "ééééé");
  EXPECT_EQ(fit_width("éééééé", 5), "éééé\xE2\x80\xA6");
  EXPECT_EQ(fit_width("abc", 0), "");
}

}  // namespace
}  // namespace peerchat::cli
