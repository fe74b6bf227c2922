// services/transfer: which relative paths of an offer the receiver will write. A peer with a valid
// identity may still be hostile, so every path of a manifest is checked before anything touches
// the disk, and one bad entry refuses the whole offer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "services/transfer/manifest.hpp"
#include "util/result.hpp"

namespace peerchat::transfer {

enum class PathProblem {
  not_utf8 = 1,
  empty_path,
  absolute,
  parent_component,   // ".."
  dot_component,      // "."
  empty_component,    // "a//b", a trailing "/"
  backslash,          // a separator on other systems, so a name that means two things
  control_character,  // C0, DEL, C1, and the bidi/format marks that disguise a name
  component_too_long,
  path_too_long,
  duplicate,  // also equal after ASCII case folding: exFAT and NTFS download dirs fold case
  under_a_file,
  part_name_clash,  // "x.part" beside a file "x", which is written as "x.part" until verified
  too_many_entries,
};

// The enumerator's name, for logs and tests.
std::string_view to_string(PathProblem problem);

const std::error_category& path_error_category();
std::error_code make_error_code(PathProblem problem);

// NAME_MAX where no destination is known yet (ext4, btrfs, exFAT in UTF-16 units).
inline constexpr std::size_t kDefaultNameMax = 255;
// A received name must leave room for both suffixes the receiver may add: " (99999)" when the
// name is taken, ".part" until the file is verified.
inline constexpr std::size_t kMaxCollisionNumber = 99'999;
inline constexpr std::size_t kReservedNameBytes = sizeof(" (99999)") - 1 + sizeof(".part") - 1;
std::size_t max_component_bytes(std::size_t name_max);

// Why an offer was refused: the first entry (by index) that is unsafe, and a sentence for people
// that names its path with control bytes escaped.
struct PathRefusal {
  std::size_t entry = 0;
  PathProblem problem = PathProblem::empty_path;
  std::string message;
};

// Nothing when every entry of `manifest` may be written below a download folder whose file
// system allows names of `name_max` bytes.
std::optional<PathRefusal> check_paths(const Manifest& manifest,
                                       std::size_t name_max = kDefaultNameMax);
Error to_error(const PathRefusal& refusal);

// The checks of one path on its own (no duplicates, no siblings), for callers that hold an entry
// without its manifest.
std::optional<PathProblem> check_path(std::string_view path, std::size_t name_max);

// `text` safe to show: control characters, bidi marks and bytes that are not UTF-8 become \xNN,
// a backslash becomes \\, and anything past `max_bytes` is cut with "...".
std::string printable(std::string_view text, std::size_t max_bytes = 160);

// ASCII lower case, the folding a case-insensitive download dir applies at least.
std::string fold_case(std::string_view text);

}  // namespace peerchat::transfer

template <>
struct std::is_error_code_enum<peerchat::transfer::PathProblem> : std::true_type {};
