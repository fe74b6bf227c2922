#include "services/transfer/sandbox.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "services/transfer/paths.hpp"

namespace peerchat::transfer {
namespace {

namespace fs = std::filesystem;

Entry file(std::string path) {
  return Entry{EntryKind::file, std::move(path), 0, {}, {}};
}
Entry folder(std::string path) {
  return Entry{EntryKind::folder, std::move(path), 0, {}, {}};
}

Manifest manifest_of(std::vector<Entry> entries) {
  Manifest manifest;
  manifest.entries = std::move(entries);
  return manifest;
}

fs::path make_temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "peerchat-sandbox-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return {};
  return pattern;
}

// Every name below `dir`, relative, without following symlinks.
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& item : fs::recursive_directory_iterator(dir)) {
    names.push_back(fs::relative(item.path(), dir).string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write(const fs::path& path, std::string_view text) {
  std::ofstream(path, std::ios::binary) << text;
}

void write_fd(const UniqueFd& fd, std::string_view text, off_t at) {
  ASSERT_EQ(::pwrite(fd.get(), text.data(), text.size(), at), static_cast<ssize_t>(text.size()));
}

unsigned mode_of(const fs::path& path) {
  struct stat status {};
  return ::lstat(path.c_str(), &status) == 0 ? status.st_mode & 07777u : 0u;
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir();
    ASSERT_FALSE(root_.empty());
    downloads_ = root_ / "downloads";
    elsewhere_ = root_ / "elsewhere";
    fs::create_directories(elsewhere_);
    auto opened = Destination::open(downloads_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    destination_.emplace(std::move(opened.value()));
  }
  void TearDown() override { fs::remove_all(root_); }  // does not follow symlinks

  Destination& destination() { return *destination_; }
  Placement place(const Manifest& manifest) {
    auto placement = destination().place(manifest);
    EXPECT_TRUE(placement.ok()) << placement.error().message;
    return placement.ok() ? placement.value() : Placement{};
  }

  fs::path root_;
  fs::path downloads_;
  fs::path elsewhere_;
  std::optional<Destination> destination_;
};

struct BadCase {
  std::vector<Entry> entries;
  PathProblem problem;
  std::size_t entry;
};

std::vector<BadCase> bad_cases() {
  const std::string long_component(300, 'a');
  std::string long_path;
  while (long_path.size() <= kMaxPathBytes) long_path += "abcdefgh/";
  long_path += "x";
  return {
      {{file("../x")}, PathProblem::parent_component, 0},
      {{file("/etc/x")}, PathProblem::absolute, 0},
      {{file("a/../../x")}, PathProblem::parent_component, 0},
      {{file(std::string("a\0b", 3))}, PathProblem::control_character, 0},
      {{file("a/./b")}, PathProblem::dot_component, 0},
      {{file("a//b")}, PathProblem::empty_component, 0},
      {{file("a/")}, PathProblem::empty_component, 0},
      {{file("")}, PathProblem::empty_path, 0},
      {{file("a\\b")}, PathProblem::backslash, 0},
      {{file("\x1b[31mred")}, PathProblem::control_character, 0},
      {{file("a\x7f")}, PathProblem::control_character, 0},
      {{file("invoice\xe2\x80\xae"
             "fdp.exe")},
       PathProblem::control_character,
       0},                                                            // U+202E
      {{file("x\xc2\x85y")}, PathProblem::control_character, 0},      // U+0085
      {{file("x\xe2\x81\xa6y")}, PathProblem::control_character, 0},  // U+2066
      {{file("x\xe2\x80\x8fy")}, PathProblem::control_character, 0},  // U+200F
      {{file("bad\xff")}, PathProblem::not_utf8, 0},
      {{file("over\xc0\xaflong")}, PathProblem::not_utf8, 0},
      {{file("A.txt"), file("a.txt")}, PathProblem::duplicate, 1},
      {{folder("d"), file("d/n"), file("d/n")}, PathProblem::duplicate, 2},
      {{file("f"), file("f/g")}, PathProblem::under_a_file, 1},
      {{file("f/g/h"), file("F")}, PathProblem::under_a_file, 0},
      {{file("x"), file("x.part")}, PathProblem::part_name_clash, 1},
      {{folder("d"), folder("d/X.PART"), file("d/x")}, PathProblem::part_name_clash, 1},
      {{file("ok/" + long_component)}, PathProblem::component_too_long, 0},
      {{file(std::string(max_component_bytes(kDefaultNameMax) + 1, 'b'))},
       PathProblem::component_too_long,
       0},
      {{file(long_path)}, PathProblem::path_too_long, 0},
      {{file("fine"), file("a/../b"), file("/abs")}, PathProblem::parent_component, 1},
  };
}

bool has_raw_control(std::string_view text) {
  for (const char byte : text) {
    const auto c = static_cast<unsigned char>(byte);
    if (c < 0x20 || c == 0x7f || c >= 0x80) return true;  // escaped messages are plain ASCII here
  }
  return false;
}

TEST(SandboxPathsTest, RefusesEachProblemWithItsReason) {
  for (const BadCase& bad : bad_cases()) {
    const Manifest manifest = manifest_of(bad.entries);
    const std::string shown = printable(bad.entries[bad.entry].path);
    auto refusal = check_paths(manifest);
    ASSERT_TRUE(refusal.has_value()) << shown;
    EXPECT_EQ(to_string(refusal->problem), to_string(bad.problem)) << shown;
    EXPECT_EQ(refusal->entry, bad.entry) << shown;
    EXPECT_NE(refusal->message.find(shown.substr(0, 100)), std::string::npos) << refusal->message;
    EXPECT_FALSE(has_raw_control(refusal->message)) << refusal->message;
    EXPECT_EQ(to_error(*refusal).code, bad.problem);
  }
}

TEST(SandboxPathsTest, RefusesTooManyEntries) {
  Manifest manifest;
  for (std::size_t i = 0; i <= kMaxEntries; ++i)
    manifest.entries.push_back(file(std::to_string(i)));
  auto refusal = check_paths(manifest);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->problem, PathProblem::too_many_entries);
  EXPECT_EQ(refusal->entry, kMaxEntries);
  manifest.entries.pop_back();
  EXPECT_FALSE(check_paths(manifest).has_value());
}

TEST(SandboxPathsTest, AcceptsDeepTreesAndUtf8Names) {
  std::string deep = "deep";
  for (int level = 0; level < 200; ++level) deep += "/d" + std::to_string(level);
  const Manifest manifest = manifest_of({
      folder("Fotos"),
      file("Fotos/2024/Été/日本/写真 1.jpg"),
      file("résumé (final).pdf"),
      file(".hidden"),
      file("x.part"),  // no "x" beside it
      file("emoji \xf0\x9f\x98\x80.txt"),
      file(std::string(max_component_bytes(kDefaultNameMax), 'n')),
      file(deep + "/leaf.txt"),
      folder("empty"),
  });
  auto refusal = check_paths(manifest);
  EXPECT_FALSE(refusal.has_value()) << refusal->message;
}

TEST(SandboxPathsTest, NamesItsProblems) {
  EXPECT_EQ(to_string(PathProblem::not_utf8), "not_utf8");
  EXPECT_EQ(to_string(PathProblem::control_character), "control_character");
  EXPECT_EQ(to_string(PathProblem::part_name_clash), "part_name_clash");
  EXPECT_EQ(to_string(PathProblem::too_many_entries), "too_many_entries");
  EXPECT_EQ(make_error_code(PathProblem::duplicate).message(),
            "appears twice in the offer (perhaps differing only in case)");
}

TEST(SandboxPathsTest, ComponentLimitFollowsNameMax) {
  EXPECT_EQ(max_component_bytes(255), 255u - 13u);
  EXPECT_EQ(check_path(std::string(100, 'a'), 100), PathProblem::component_too_long);
  EXPECT_FALSE(check_path(std::string(87, 'a'), 100).has_value());
}

TEST(SandboxPathsTest, PrintableEscapesControlsAndBrokenBytes) {
  EXPECT_EQ(printable("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("a\xe2\x80\xae"
                      "b"),
            "a\\xe2\\x80\\xaeb");
  EXPECT_EQ(printable("bad\xff\xc3"), "bad\\xff\\xc3");
  EXPECT_EQ(printable("a\\b"), "a\\\\b");
  EXPECT_EQ(printable("Été 日本"), "Été 日本");
  EXPECT_EQ(printable(std::string(500, 'z'), 10), std::string(10, 'z') + "...");
}

// What a careless caller might build instead of calling place(): every top-level name as itself.
Placement naive_placement(const Manifest& manifest) {
  Placement placement;
  for (const Entry& entry : manifest.entries) {
    const std::string top = entry.path.substr(0, entry.path.find('/'));
    if (placement.local_name(top).empty()) placement.names.push_back({top, top});
    std::sort(placement.names.begin(), placement.names.end(),
              [](const auto& a, const auto& b) { return a.offered < b.offered; });
  }
  return placement;
}

TEST_F(SandboxTest, RefusedManifestWritesNothing) {
  for (const BadCase& bad : bad_cases()) {
    const Manifest manifest = manifest_of(bad.entries);
    const Entry& offender = bad.entries[bad.entry];
    const std::string shown = printable(offender.path);
    auto placement = destination().place(manifest);
    ASSERT_FALSE(placement.ok()) << shown;
    EXPECT_EQ(placement.error().code, bad.problem) << shown;
    EXPECT_FALSE(has_raw_control(placement.error().message)) << placement.error().message;
    const Placement naive = naive_placement(manifest);
    EXPECT_FALSE(destination().make_folders(naive, manifest).ok()) << shown;
    // A single entry is checked on its own too, for what can be seen without its manifest.
    if (check_path(offender.path, kDefaultNameMax)) {
      EXPECT_FALSE(destination().open_part(naive, offender).ok()) << shown;
      EXPECT_FALSE(destination().finish(naive, offender).ok()) << shown;
      EXPECT_FALSE(destination().remove_part(naive, offender).ok()) << shown;
    }
    EXPECT_TRUE(listing(downloads_).empty()) << shown;
  }
}

TEST_F(SandboxTest, EachEntryIsCheckedAgainWhenUsed) {
  // ".." is a real directory entry, which O_NOFOLLOW does not stop: only the path check does.
  const Manifest manifest = manifest_of({folder("a/b")});
  const Placement placement = place(manifest);
  ASSERT_TRUE(destination().make_folders(placement, manifest).ok());
  const Entry escape = file("a/b/../../../escape");
  EXPECT_FALSE(destination().open_part(placement, escape).ok());
  EXPECT_FALSE(destination().finish(placement, escape).ok());
  EXPECT_FALSE(fs::exists(root_ / "escape.part"));
  EXPECT_FALSE(fs::exists(root_ / "escape"));
  EXPECT_FALSE(destination().open_part(placement, folder("a/b")).ok());  // not a file
  EXPECT_FALSE(fs::exists(downloads_ / "a/b.part"));
}

TEST_F(SandboxTest, WritesValidDeepTreesAndUtf8Names) {
  std::string deep = "deep";
  for (int level = 0; level < 40; ++level) deep += "/d" + std::to_string(level);
  const Manifest manifest =
      manifest_of({folder("Fotos"), folder("Fotos/empty"), file("Fotos/2024/Été/日本/写真 1.jpg"),
                   file("résumé.pdf"), file(deep + "/leaf.txt")});
  const Placement placement = place(manifest);
  ASSERT_TRUE(destination().make_folders(placement, manifest).ok());
  ASSERT_TRUE(destination().make_folders(placement, manifest).ok());  // idempotent
  for (const Entry& entry : manifest.entries) {
    if (entry.kind != EntryKind::file) continue;
    auto part = destination().open_part(placement, entry);
    ASSERT_TRUE(part.ok()) << part.error().message;
    write_fd(*part, entry.path, 0);
    auto saved = destination().finish(placement, entry);
    ASSERT_TRUE(saved.ok()) << saved.error().message;
    EXPECT_EQ(*saved, downloads_ / entry.path);
    EXPECT_EQ(read(downloads_ / entry.path), entry.path);
  }
  EXPECT_TRUE(fs::is_directory(downloads_ / "Fotos/empty"));
  EXPECT_EQ(read(downloads_ / "résumé.pdf"), "résumé.pdf");
}

TEST_F(SandboxTest, PlacementNeverOverwrites) {
  write(downloads_ / "photo.jpg", "mine");
  write(downloads_ / "photo (1).jpg", "mine too");
  fs::create_directory(downloads_ / "album");
  write(downloads_ / ".bashrc", "rc");
  write(downloads_ / "README", "readme");
  write(downloads_ / "doc", "doc");
  write(downloads_ / "notes.txt.part", "another transfer");
  const auto before = listing(downloads_);

  const Manifest manifest = manifest_of(
      {file("photo.jpg"), folder("album"), file("album/a.jpg"), file(".bashrc"), file("README"),
       file("notes.txt"), file("photo (2).jpg"), file("new.txt"), folder("album (1)"),
       file("album (1)/b.jpg"), file("doc"), file("doc (1).part")});
  const Placement placement = place(manifest);
  EXPECT_EQ(placement.local_name("photo.jpg"), "photo (2).jpg");
  EXPECT_EQ(placement.local_name("album"), "album (1)");
  EXPECT_EQ(placement.local_name(".bashrc"), ".bashrc (1)");
  EXPECT_EQ(placement.local_name("README"), "README (1)");
  EXPECT_EQ(placement.local_name("notes.txt"), "notes (1).txt");
  // Offered under the name another of its files was just given.
  EXPECT_EQ(placement.local_name("photo (2).jpg"), "photo (2) (1).jpg");
  EXPECT_EQ(placement.local_name("new.txt"), "new.txt");
  EXPECT_EQ(placement.local_name("album (1)"), "album (1) (1)");
  EXPECT_EQ(placement.local_name("doc"), "doc (1)");
  // Not the name "doc (1)" is written under until it is verified.
  EXPECT_EQ(placement.local_name("doc (1).part"), "doc (1) (1).part");
  EXPECT_EQ(listing(downloads_), before);  // placing writes nothing

  ASSERT_TRUE(destination().make_folders(placement, manifest).ok());
  for (const Entry& entry : manifest.entries) {
    if (entry.kind != EntryKind::file) continue;
    auto part = destination().open_part(placement, entry);
    ASSERT_TRUE(part.ok()) << part.error().message;
    write_fd(*part, "received", 0);
    ASSERT_TRUE(destination().finish(placement, entry).ok());
  }
  EXPECT_EQ(read(downloads_ / "photo.jpg"), "mine");
  EXPECT_EQ(read(downloads_ / "photo (1).jpg"), "mine too");
  EXPECT_EQ(read(downloads_ / ".bashrc"), "rc");
  EXPECT_EQ(read(downloads_ / "notes.txt.part"), "another transfer");
  EXPECT_TRUE(fs::is_empty(downloads_ / "album"));
  EXPECT_EQ(read(downloads_ / "album (1)" / "a.jpg"), "received");
  EXPECT_EQ(read(downloads_ / "photo (2).jpg"), "received");
  EXPECT_EQ(read(downloads_ / "album (1) (1)" / "b.jpg"), "received");
  EXPECT_EQ(read(downloads_ / "doc"), "doc");
  EXPECT_EQ(read(downloads_ / "doc (1)"), "received");
}

TEST_F(SandboxTest, PlacementSurvivesARestart) {
  const Manifest manifest = manifest_of({file("a.txt"), folder("b"), file("b/c")});
  write(downloads_ / "a.txt", "x");
  const Placement placement = place(manifest);
  auto parsed = Placement::parse(placement.serialise());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->names, placement.names);
  for (const char* damaged :
       {"../x\tx\n", "x\t../x\n", "a\tb", "a/b\tc\n", "a\tb\x1b\n", "ab\n", "a\t\n"}) {
    EXPECT_FALSE(Placement::parse(damaged).ok()) << printable(damaged);
  }
  // A placement naming an unsafe local folder is refused when used, not followed.
  Placement hostile;
  hostile.names.push_back({"b", "../elsewhere"});
  EXPECT_FALSE(destination().make_folders(hostile, manifest_of({folder("b")})).ok());
  EXPECT_TRUE(fs::is_empty(elsewhere_));
}

TEST_F(SandboxTest, SymlinkPlantedAsPlacedFolderIsRefused) {
  fs::create_directory(downloads_ / "album");
  const Manifest manifest = manifest_of({folder("album"), folder("album/sub"), file("album/x")});
  const Placement placement = place(manifest);
  ASSERT_EQ(placement.local_name("album"), "album (1)");
  fs::create_directory_symlink(elsewhere_, downloads_ / "album (1)");

  auto made = destination().make_folders(placement, manifest);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message.find("symbolic link"), std::string::npos) << made.error().message;
  EXPECT_FALSE(destination().open_part(placement, file("album/x")).ok());
  EXPECT_TRUE(fs::is_empty(elsewhere_));
}

TEST_F(SandboxTest, SymlinkPlantedDeeperIsRefused) {
  const Manifest manifest = manifest_of({folder("album/sub"), file("album/sub/x")});
  const Placement placement = place(manifest);
  ASSERT_TRUE(destination().make_folders(placement, manifest).ok());
  fs::remove(downloads_ / "album/sub");
  fs::create_directory_symlink(elsewhere_, downloads_ / "album/sub");

  EXPECT_FALSE(destination().make_folders(placement, manifest).ok());
  EXPECT_FALSE(destination().open_part(placement, file("album/sub/x")).ok());
  EXPECT_TRUE(fs::is_empty(elsewhere_));

  fs::remove(downloads_ / "album/sub");
  write(downloads_ / "album/sub", "a file where a folder goes");
  auto made = destination().make_folders(placement, manifest);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.error().message.find("it is a file"), std::string::npos) << made.error().message;
}

TEST_F(SandboxTest, PlantedPartSymlinkIsRefused) {
  const Manifest manifest = manifest_of({file("x.bin"), file("y.bin")});
  const Placement placement = place(manifest);
  write(elsewhere_ / "target", "secret");
  fs::create_symlink(elsewhere_ / "target", downloads_ / "x.bin.part");
  fs::create_symlink(elsewhere_ / "new", downloads_ / "y.bin.part");  // dangling

  auto part = destination().open_part(placement, file("x.bin"));
  ASSERT_FALSE(part.ok());
  EXPECT_NE(part.error().message.find("symbolic link"), std::string::npos) << part.error().message;
  EXPECT_FALSE(destination().open_part(placement, file("y.bin")).ok());
  EXPECT_FALSE(destination().finish(placement, file("x.bin")).ok());
  EXPECT_EQ(read(elsewhere_ / "target"), "secret");
  EXPECT_FALSE(fs::exists(fs::symlink_status(elsewhere_ / "new")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(downloads_ / "x.bin")));
}

TEST_F(SandboxTest, PlantedHardLinkOrFifoIsRefused) {
  const Manifest manifest = manifest_of({file("x.bin"), file("y.bin")});
  const Placement placement = place(manifest);
  write(elsewhere_ / "target", "secret");
  fs::create_hard_link(elsewhere_ / "target", downloads_ / "x.bin.part");
  ASSERT_EQ(::mkfifo((downloads_ / "y.bin.part").c_str(), 0600), 0);

  EXPECT_FALSE(destination().open_part(placement, file("x.bin")).ok());
  EXPECT_FALSE(destination().finish(placement, file("x.bin")).ok());
  EXPECT_FALSE(destination().open_part(placement, file("y.bin")).ok());  // and does not hang
  EXPECT_EQ(read(elsewhere_ / "target"), "secret");
}

TEST_F(SandboxTest, FinishNeverOverwritesANameTakenMeanwhile) {
  const Placement placement = place(manifest_of({file("photo.jpg")}));
  auto part = destination().open_part(placement, file("photo.jpg"));
  ASSERT_TRUE(part.ok()) << part.error().message;
  write_fd(*part, "received", 0);
  write(downloads_ / "photo.jpg", "theirs");
  fs::create_symlink(elsewhere_ / "planted", downloads_ / "photo (1).jpg");

  auto saved = destination().finish(placement, file("photo.jpg"));
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(*saved, downloads_ / "photo (2).jpg");
  EXPECT_EQ(read(downloads_ / "photo.jpg"), "theirs");
  EXPECT_EQ(read(downloads_ / "photo (2).jpg"), "received");
  EXPECT_TRUE(fs::is_symlink(downloads_ / "photo (1).jpg"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(elsewhere_ / "planted")));
  EXPECT_FALSE(fs::exists(downloads_ / "photo.jpg.part"));
}

// So that the modes checked are the ones we set, not what the umask left of them.
struct NoUmask {
  NoUmask() : previous(::umask(0)) {}
  ~NoUmask() { ::umask(previous); }
  mode_t previous;
};

TEST_F(SandboxTest, FilesArePrivateWhilePartialAnd0644WhenDone) {
  const NoUmask no_umask;
  const Placement placement = place(manifest_of({file("run.sh"), file("tool")}));
  for (const char* name : {"run.sh", "tool"}) {
    auto part = destination().open_part(placement, file(name));
    ASSERT_TRUE(part.ok()) << part.error().message;
    EXPECT_EQ(mode_of(downloads_ / (std::string(name) + ".part")), 0600u);
  }
  ::chmod((downloads_ / "tool.part").c_str(), 04777);  // whatever happened to it meanwhile
  for (const char* name : {"run.sh", "tool"}) {
    auto saved = destination().finish(placement, file(name));
    ASSERT_TRUE(saved.ok()) << saved.error().message;
    EXPECT_EQ(mode_of(*saved), 0644u) << *saved;
  }
}

TEST_F(SandboxTest, ResumeKeepsWhatWasWritten) {
  const Manifest manifest = manifest_of({folder("f"), file("f/data.bin")});
  const Placement placement = place(manifest);
  ASSERT_TRUE(destination().make_folders(placement, manifest).ok());
  {
    auto part = destination().open_part(placement, file("f/data.bin"));
    ASSERT_TRUE(part.ok()) << part.error().message;
    write_fd(*part, "hello", 0);
  }
  // A restart: the folder opened again, the saved placement read back.
  auto reopened = Destination::open(downloads_);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  auto restored = Placement::parse(placement.serialise());
  ASSERT_TRUE(restored.ok());
  ASSERT_TRUE(reopened->make_folders(*restored, manifest).ok());
  auto part = reopened->open_part(*restored, file("f/data.bin"));
  ASSERT_TRUE(part.ok()) << part.error().message;
  struct stat status {};
  ASSERT_EQ(::fstat(part->get(), &status), 0);
  EXPECT_EQ(status.st_size, 5);
  write_fd(*part, " world", 5);
  auto saved = reopened->finish(*restored, file("f/data.bin"));
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(read(*saved), "hello world");
}

TEST_F(SandboxTest, RemovePartOnCancel) {
  const Manifest manifest = manifest_of({folder("f"), file("f/a"), file("b")});
  const Placement placement = place(manifest);
  EXPECT_TRUE(destination().remove_part(placement, file("f/a")).ok());  // folder not made yet
  ASSERT_TRUE(destination().make_folders(placement, manifest).ok());
  ASSERT_TRUE(destination().open_part(placement, file("b")).ok());
  EXPECT_TRUE(fs::exists(downloads_ / "b.part"));
  EXPECT_TRUE(destination().remove_part(placement, file("b")).ok());
  EXPECT_TRUE(destination().remove_part(placement, file("b")).ok());
  EXPECT_FALSE(fs::exists(downloads_ / "b.part"));
}

TEST_F(SandboxTest, OpenCreatesPrivateFoldersAndRefusesAFile) {
  auto nested = Destination::open(root_ / "new/deeper/downloads/");
  ASSERT_TRUE(nested.ok()) << nested.error().message;
  EXPECT_EQ(mode_of(root_ / "new") & 0077u, 0u);
  EXPECT_EQ(mode_of(root_ / "new/deeper/downloads") & 0077u, 0u);
  EXPECT_EQ(nested->path(), root_ / "new/deeper/downloads");
  EXPECT_EQ(nested->name_max(), 255u);
  auto free = nested->free_bytes();
  ASSERT_TRUE(free.ok()) << free.error().message;
  EXPECT_GT(*free, 0u);

  write(root_ / "a file", "x");
  auto refused = Destination::open(root_ / "a file");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("a file"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace peerchat::transfer
