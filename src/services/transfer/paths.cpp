#include "services/transfer/paths.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <vector>

#include "util/error_category.hpp"
#include "wire/utf8.hpp"

namespace peerchat::transfer {
namespace {

struct ProblemText {
  std::string_view name;
  const char* description;  // completes "the path \"x\" ..."
};

// In the order of PathProblem, from 1.
constexpr ProblemText kProblemTexts[] = {
    {"not_utf8", "is not valid UTF-8"},
    {"empty_path", "is empty"},
    {"absolute", "is absolute (starts with /)"},
    {"parent_component", "has a \"..\" component, which would leave the download folder"},
    {"dot_component", "has a \".\" component"},
    {"empty_component", "has an empty component (\"//\" or a trailing \"/\")"},
    {"backslash", "has a backslash, a folder separator on other systems"},
    {"control_character", "has a control character or an invisible direction mark"},
    {"component_too_long", "has a name too long for the download folder's file system"},
    {"path_too_long", "is longer than 4,096 bytes"},
    {"duplicate", "appears twice in the offer (perhaps differing only in case)"},
    {"under_a_file", "is inside another entry of the offer that is a file"},
    {"part_name_clash",
     "ends in .part beside a file of the same name, which is saved as .part until checked"},
    {"too_many_entries", "is past the 50,000 entries one offer may hold"},
};
static_assert(std::size(kProblemTexts) == static_cast<std::size_t>(PathProblem::too_many_entries));

const ProblemText& text_of(PathProblem problem) {
  static constexpr ProblemText kUnknown{"unknown", "is not allowed"};
  const auto index = static_cast<std::size_t>(problem) - 1;
  return index < std::size(kProblemTexts) ? kProblemTexts[index] : kUnknown;
}

const char* describe(PathProblem problem) {
  return text_of(problem).description;
}

// The length of a control sequence starting at `at`, 0 if there is none: C0 and DEL, C1
// (U+0080..U+009F), LRM/RLM (U+200E, U+200F), the embeddings and overrides U+202A..U+202E and
// the isolates U+2066..U+2069, which can make "gpj.exe" display as "exe.jpg".
std::size_t control_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t k) {
    return at + k < text.size() ? static_cast<std::uint8_t>(text[at + k]) : std::uint8_t{0};
  };
  const std::uint8_t lead = byte(0);
  if (lead < 0x20 || lead == 0x7F) return 1;
  if (lead == 0xC2 && byte(1) >= 0x80 && byte(1) <= 0x9F) return 2;
  if (lead != 0xE2) return 0;
  const std::uint8_t second = byte(1);
  const std::uint8_t third = byte(2);
  if (second == 0x80 && (third == 0x8E || third == 0x8F || (third >= 0xAA && third <= 0xAE))) {
    return 3;
  }
  if (second == 0x81 && third >= 0xA6 && third <= 0xA9) return 3;
  return 0;
}

std::size_t utf8_length(std::uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

// Sorting these puts every path right before the paths below it: '/' becomes \x01, which sorts
// below every byte a valid path may hold.
std::string sort_key(std::string_view path) {
  std::string key = fold_case(path);
  std::replace(key.begin(), key.end(), '/', '\x01');
  return key;
}

bool is_below(std::string_view key, std::string_view folder_key) {
  return key.size() > folder_key.size() && key.starts_with(folder_key) &&
         key[folder_key.size()] == '\x01';
}

// Marks duplicates, entries under a file and .part clashes, in O(total path bytes * log n):
// a hostile manifest of 50,000 deep paths must not cost more than reading it.
void check_siblings(const Manifest& manifest, std::vector<std::optional<PathProblem>>& problems) {
  const auto& entries = manifest.entries;
  std::vector<std::string> keys(entries.size());
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (problems[i]) continue;
    keys[i] = sort_key(entries[i].path);
    order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return keys[a] != keys[b] ? keys[a] < keys[b] : a < b;
  });
  const auto flag = [&](std::size_t i, PathProblem problem) {
    if (!problems[i]) problems[i] = problem;
  };

  // In sorted order a file's descendants follow it as one block, so the outermost open file
  // block is the only one to track.
  const std::string* file_block = nullptr;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::size_t i = order[k];
    const std::string& key = keys[i];
    if (k > 0 && keys[order[k - 1]] == key) flag(i, PathProblem::duplicate);
    if (file_block != nullptr && is_below(key, *file_block)) {
      flag(i, PathProblem::under_a_file);
      continue;
    }
    if (file_block != nullptr && key == *file_block) continue;
    file_block = entries[i].kind == EntryKind::file ? &key : nullptr;
  }

  constexpr std::string_view kPart = ".part";
  for (const std::size_t i : order) {
    const std::string_view key = keys[i];
    if (!key.ends_with(kPart)) continue;
    const std::string_view stem = key.substr(0, key.size() - kPart.size());
    const auto found =
        std::lower_bound(order.begin(), order.end(), stem,
                         [&](std::size_t a, std::string_view s) { return keys[a] < s; });
    if (found != order.end() && keys[*found] == stem && entries[*found].kind == EntryKind::file) {
      flag(i, PathProblem::part_name_clash);
    }
  }
}

}  // namespace

std::string_view to_string(PathProblem problem) {
  return text_of(problem).name;
}

const std::error_category& path_error_category() {
  static const EnumCategory<PathProblem> category("peerchat.transfer.path", describe);
  return category;
}

std::error_code make_error_code(PathProblem problem) {
  return {static_cast<int>(problem), path_error_category()};
}

std::size_t max_component_bytes(std::size_t name_max) {
  return name_max > kReservedNameBytes ? name_max - kReservedNameBytes : 1;
}

std::optional<PathProblem> check_path(std::string_view path, std::size_t name_max) {
  if (path.empty()) return PathProblem::empty_path;
  if (path.size() > kMaxPathBytes) return PathProblem::path_too_long;
  if (!wire::is_valid_utf8(path)) return PathProblem::not_utf8;
  if (path.front() == '/') return PathProblem::absolute;
  if (path.find('\\') != std::string_view::npos) return PathProblem::backslash;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (control_length(path, i) != 0) return PathProblem::control_character;
  }
  const std::size_t max_component = max_component_bytes(name_max);
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view component = path.substr(start, end - start);
    if (component.empty()) return PathProblem::empty_component;
    if (component == ".") return PathProblem::dot_component;
    if (component == "..") return PathProblem::parent_component;
    if (component.size() > max_component) return PathProblem::component_too_long;
    if (end == path.size()) return std::nullopt;
    start = end + 1;
  }
}

std::optional<PathRefusal> check_paths(const Manifest& manifest, std::size_t name_max) {
  const auto& entries = manifest.entries;
  const auto refuse = [&](std::size_t i, PathProblem problem) {
    return PathRefusal{
        i, problem,
        fmt::format("refused the offer: the path \"{}\" {}; nothing was saved, ask the sender to "
                    "rename it and offer again",
                    printable(entries[i].path), describe(problem))};
  };
  if (entries.size() > kMaxEntries) return refuse(kMaxEntries, PathProblem::too_many_entries);

  std::vector<std::optional<PathProblem>> problems(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    problems[i] = check_path(entries[i].path, name_max);
  }
  check_siblings(manifest, problems);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (problems[i]) return refuse(i, *problems[i]);
  }
  return std::nullopt;
}

Error to_error(const PathRefusal& refusal) {
  return make_error(make_error_code(refusal.problem), refusal.message);
}

std::string printable(std::string_view text, std::size_t max_bytes) {
  std::string shown;
  std::size_t i = 0;
  while (i < text.size()) {
    if (shown.size() >= max_bytes) {
      shown += "...";
      break;
    }
    const std::size_t length = utf8_length(static_cast<std::uint8_t>(text[i]));
    const std::string_view character = text.substr(i, length);
    if (text[i] == '\\') {
      shown += "\\\\";
    } else if (control_length(text, i) != 0 || character.size() != length ||
               !wire::is_valid_utf8(character)) {
      // One byte at a time, so a broken sequence cannot swallow what follows it.
      shown += fmt::format("\\x{:02x}", static_cast<std::uint8_t>(text[i]));
      i += 1;
      continue;
    } else {
      shown += character;
    }
    i += length;
  }
  return shown;
}

std::string fold_case(std::string_view text) {
  std::string folded(text);
  for (char& c : folded) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return folded;
}

}  // namespace peerchat::transfer
