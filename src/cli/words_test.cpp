#include "cli/words.hpp"

#include <gtest/gtest.h>

namespace peerchat::cli {
namespace {

std::vector<std::string> words(std::string_view line) {
  auto split = split_words(line);
  EXPECT_TRUE(split) << line;
  return split ? *split : std::vector<std::string>{};
}

TEST(Words, SplitLikeAShellWithoutExpanding) {
  using List = std::vector<std::string>;
  EXPECT_EQ(words("  bob  a.txt\tb  "), (List{"bob", "a.txt", "b"}));
  EXPECT_EQ(words(R"(bob "my file.txt" 'it is' plain\ space)"),
            (List{"bob", "my file.txt", "it is", "plain space"}));
  EXPECT_EQ(words(R"("say \"hi\" \\ \n" 'a\b')"), (List{R"(say "hi" \ \n)", R"(a\b)"}));
  EXPECT_EQ(words(R"(pre"fix mid"post '' "")"), (List{"prefix midpost", "", ""}));
  EXPECT_EQ(words("~/x $HOME *.txt"), (List{"~/x", "$HOME", "*.txt"}));
  EXPECT_TRUE(words("   ").empty());
}

TEST(Words, ALeadingUnquotedTildeIsTheHomeFolder) {
  const auto split = [](std::string_view line) { return *split_words(line, "/home/al"); };
  using List = std::vector<std::string>;
  EXPECT_EQ(split("bob ~/a.txt ~ x~ ~al/b '~/q' \\~/e"),
            (List{"bob", "/home/al/a.txt", "/home/al", "x~", "~al/b", "~/q", "~/e"}));
  EXPECT_EQ(split("~/my\\ file"), (List{"/home/al/my file"}));
  EXPECT_EQ(*split_words("~/x"), (List{"~/x"}));  // no home given: left alone
}

TEST(Words, UnclosedQuotesAndTrailingBackslashAreUsageFailures) {
  for (std::string_view bad : {R"(bob "a.txt)", "bob 'a", "bob a\\"}) {
    auto split = split_words(bad);
    ASSERT_FALSE(split) << bad;
    EXPECT_EQ(split.failure().code, Code::usage);
    EXPECT_FALSE(split.failure().message.empty());
  }
}

}  // namespace
}  // namespace peerchat::cli
