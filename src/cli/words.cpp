#include "cli/words.hpp"

#include <fmt/format.h>

namespace peerchat::cli {

Outcome<std::vector<std::string>> split_words(std::string_view line, std::string_view home) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;  // "" is a word too
  char quote = 0;        // the open quote, or 0
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote == '\'') {
      if (c == '\'') {
        quote = 0;
      } else {
        word += c;
      }
    } else if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
        word += line[++i];
      } else {
        word += c;
      }
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      // A ~ that starts a word, unquoted, alone or before a /: the home folder, as in a shell.
      if (!in_word && c == '~' && !home.empty() &&
          (i + 1 == line.size() || line[i + 1] == '/' || line[i + 1] == ' ' ||
           line[i + 1] == '\t')) {
        in_word = true;
        word += home;
        continue;
      }
      in_word = true;
      if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '\\') {
        if (i + 1 == line.size()) {
          return Failure{Code::usage, fmt::format("the line ends with a lone \\")};
        }
        word += line[++i];
      } else {
        word += c;
      }
    }
  }
  if (quote != 0) {
    return Failure{Code::usage, fmt::format("a {} quote is not closed", quote)};
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace peerchat::cli
