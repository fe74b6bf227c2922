#include "cli/render.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace peerchat::cli
