#include "util/codes.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace peerchat {
namespace {

TEST(Codes, NamesAreUniqueAndRoundTrip) {
  std::set<std::string_view> seen;
  for (const auto& entry : all_codes()) {
    EXPECT_TRUE(seen.insert(entry.name).second) << entry.name << " is listed twice";
    EXPECT_EQ(name(entry.code), entry.name);
    EXPECT_EQ(code_from_name(entry.name), entry.code);
  }
  EXPECT_EQ(code_from_name("no_such_code"), std::nullopt);
  EXPECT_EQ(code_from_name(""), std::nullopt);
}

TEST(Codes, EveryCodeHasAKindAndAOneLineMeaning) {
  for (const auto& entry : all_codes()) {
    SCOPED_TRACE(entry.name);
    EXPECT_NE(entry.kinds, Kinds{});
    EXPECT_FALSE(entry.meaning.empty());
    // A README table cell: one line, no column separator.
    EXPECT_EQ(entry.meaning.find_first_of("|\n"), std::string_view::npos);
    for (const char c : entry.name) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << c;
  }
}

TEST(Codes, KindsReadAsTheReadmeWritesThem) {
  EXPECT_EQ(kinds_text(kinds(Code::usage)), "error");
  EXPECT_EQ(kinds_text(kinds(Code::store_failed)), "error, warning");
  EXPECT_EQ(kinds_text(kinds(Code::timeout)), "error, reason");
  EXPECT_EQ(kinds_text(kinds(Code::quit)), "reason");
  EXPECT_EQ(kinds_text(kinds(Code::name_conflict)), "warning");
}

struct ReadmeRow {
  std::string kinds;
  std::string meaning;
};

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

// The rows of the README's table whose header is "| code | kind | meaning |", by code name.
std::map<std::string, ReadmeRow> readme_codes(std::vector<std::string>* problems) {
  std::ifstream readme(PEERCHAT_SOURCE_DIR "/README.md");
  if (!readme) {
    problems->push_back("cannot open " PEERCHAT_SOURCE_DIR "/README.md");
    return {};
  }
  std::map<std::string, ReadmeRow> rows;
  std::string line;
  int tables = 0;
  while (std::getline(readme, line)) {
    if (line != "| code | kind | meaning |") continue;
    ++tables;
    std::getline(readme, line);  // the |---| line
    while (std::getline(readme, line) && line.starts_with('|')) {
      std::vector<std::string> cells;
      std::stringstream row(line.substr(1));
      for (std::string cell; std::getline(row, cell, '|');) cells.push_back(trim(cell));
      if (cells.size() != 3 || cells[0].size() < 3 || !cells[0].starts_with('`') ||
          !cells[0].ends_with('`')) {
        problems->push_back("malformed row: " + line);
        continue;
      }
      const std::string code = cells[0].substr(1, cells[0].size() - 2);
      if (!rows.emplace(code, ReadmeRow{cells[1], cells[2]}).second) {
        problems->push_back("README lists " + code + " twice");
      }
    }
  }
  if (tables != 1) {
    problems->push_back("README has " + std::to_string(tables) +
                        " tables headed '| code | kind | meaning |'; expected one");
  }
  return rows;
}

// The README is the users' list of codes: it must say exactly what the registry says.
TEST(Codes, ReadmeTableMatchesTheRegistry) {
  std::vector<std::string> problems;
  const auto rows = readme_codes(&problems);
  for (const auto& entry : all_codes()) {
    const std::string code(entry.name);
    auto it = rows.find(code);
    if (it == rows.end()) {
      problems.push_back("README's table of codes lacks " + code);
      continue;
    }
    if (it->second.kinds != kinds_text(entry.kinds)) {
      problems.push_back(code + ": README says kind '" + it->second.kinds + "', the registry '" +
                         kinds_text(entry.kinds) + "'");
    }
    if (it->second.meaning != entry.meaning) {
      problems.push_back(code + ": README says '" + it->second.meaning + "', the registry '" +
                         std::string(entry.meaning) + "'");
    }
  }
  for (const auto& [code, row] : rows) {
    if (!code_from_name(code)) problems.push_back("README lists " + code + ", which is no code");
  }
  for (const auto& problem : problems) ADD_FAILURE() << problem;
}

}  // namespace
}  // namespace peerchat
