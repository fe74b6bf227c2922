#include "cli/line_editor.hpp"

#include <gtest/gtest.h>

namespace peerchat::cli {
namespace {

using Action = LineEditor::Action;

void type(LineEditor& editor, std::string_view bytes) {
  for (char byte : bytes) editor.feed(byte);
}

TEST(LineEditor, InsertsAndSubmits) {
  LineEditor editor;
  type(editor, "hello");
  EXPECT_EQ(editor.input(), "hello");
  EXPECT_EQ(editor.feed('\r'), Action::submit);
  EXPECT_EQ(editor.take_line(), "hello");
  EXPECT_EQ(editor.input(), "");
  EXPECT_EQ(editor.feed('\n'), Action::submit);  // empty lines are submitted too
  EXPECT_EQ(editor.take_line(), "");
}

TEST(LineEditor, CursorMovesByCodePoint) {
  LineEditor editor;
  type(editor, "h\xC3\xA9llo");                  // héllo
  type(editor, "\x1b[D\x1b[D\x1b[D");            // left x3: cursor after "hé"
  EXPECT_EQ(editor.feed(0x7f), Action::redraw);  // backspace removes é whole
  EXPECT_EQ(editor.input(), "hllo");
  type(editor, "e");
  EXPECT_EQ(editor.input(), "hello");
  type(editor, "\x1b[3~");  // delete under cursor
  EXPECT_EQ(editor.input(), "helo");
}

TEST(LineEditor, EscapeSequencesSplitAcrossFeeds) {
  LineEditor editor;
  type(editor, "abc");
  EXPECT_EQ(editor.feed('\x1b'), Action::none);
  EXPECT_EQ(editor.feed('['), Action::none);
  EXPECT_EQ(editor.feed('H'), Action::redraw);  // home
  EXPECT_EQ(editor.cursor(), 0u);
  type(editor, "\x1b[F");  // end
  EXPECT_EQ(editor.cursor(), 3u);
}

TEST(LineEditor, HistoryKeepsTheHalfTypedLine) {
  LineEditor editor;
  type(editor, "first\r");
  type(editor, "second\r");
  type(editor, "second\r");  // no consecutive duplicates
  type(editor, "draft");
  type(editor, "\x1b[A");
  EXPECT_EQ(editor.input(), "second");
  type(editor, "\x1b[A");
  EXPECT_EQ(editor.input(), "first");
  type(editor, "\x1b[A");  // at the oldest: stays
  EXPECT_EQ(editor.input(), "first");
  type(editor, "\x1b[B\x1b[B");
  EXPECT_EQ(editor.input(), "draft");
}

TEST(LineEditor, KillCommands) {
  LineEditor editor;
  type(editor, "one two three");
  editor.feed(0x17);  // Ctrl-W
  EXPECT_EQ(editor.input(), "one two ");
  editor.feed(0x01);  // Ctrl-A
  editor.feed(0x0B);  // Ctrl-K
  EXPECT_EQ(editor.input(), "");
  type(editor, "abc\x1b[D");
  editor.feed(0x15);  // Ctrl-U
  EXPECT_EQ(editor.input(), "c");
}

TEST(LineEditor, ControlKeysAndPastedEscapes) {
  LineEditor editor;
  EXPECT_EQ(editor.feed(0x03), Action::interrupt);
  EXPECT_EQ(editor.feed(0x04), Action::eof);  // Ctrl-D on an empty line
  type(editor, "ab\x1b[D");
  EXPECT_EQ(editor.feed(0x04), Action::redraw);  // deletes under the cursor instead
  EXPECT_EQ(editor.input(), "a");
  type(editor, "\x07\x1b]0;title\x07x");  // bell and an OSC sequence must not be inserted raw
  for (char c : editor.input()) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
}

TEST(LineEditor, RenderPlacesTheCursor) {
  LineEditor editor;
  type(editor, "hello\x1b[D\x1b[D");
  EXPECT_EQ(editor.render("> "), "\r> hello\x1b[K\x1b[2D");
  type(editor, "\x1b[F");
  EXPECT_EQ(editor.render("> "), "\r> hello\x1b[K");
}

}  // namespace
}  // namespace peerchat::cli
