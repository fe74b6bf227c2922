#include "cli/startup.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace peerchat::cli {
namespace {

TEST(Startup, LogsGoThroughTheReplWhileItRunsSanitisedThenBackToTheOldLogger) {
  const auto before = spdlog::default_logger();
  std::vector<std::string> printed;
  {
    LogsThrough logs([&](std::string line) { printed.push_back(std::move(line)); });
    spdlog::warn("peer said \x1b[2J{}", "bye");
  }
  ASSERT_EQ(printed.size(), 1u);
  EXPECT_EQ(printed[0], "peerchat: warning: peer said ^[[2Jbye");
  EXPECT_EQ(spdlog::default_logger(), before);
}

TEST(Startup, AcceptFilesFromTakesOnlyFullPeerIds) {
  PeerOptions options;
  options.download_dir = "relative/dl";
  options.accept_files_from = {std::string(52, 'A')};
  auto config = transfer_config(options);
  ASSERT_TRUE(config) << config.failure().message;
  ASSERT_EQ(config->accept_from.size(), 1u);
  EXPECT_TRUE(config->download_dir.is_absolute());
  options.accept_files_from.push_back("ABCD-EFGH");  // a fingerprint is not enough
  auto refused = transfer_config(options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.failure().code, Code::usage);
  EXPECT_NE(refused.failure().message.find("--accept-files-from"), std::string::npos);
}

TEST(Startup, TheDownloadDirFollowsXdgThenHome) {
  const char* xdg = std::getenv("XDG_DOWNLOAD_DIR");
  const std::string saved = xdg != nullptr ? xdg : "";
  ::setenv("XDG_DOWNLOAD_DIR", "/x/dl", 1);
  EXPECT_EQ(default_download_dir(), std::filesystem::path("/x/dl/peerchat"));
  ::unsetenv("XDG_DOWNLOAD_DIR");
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != 0) {
    EXPECT_EQ(default_download_dir(), std::filesystem::path(home) / "Downloads" / "peerchat");
  }
  if (xdg != nullptr) ::setenv("XDG_DOWNLOAD_DIR", saved.c_str(), 1);
}

}  // namespace
}  // namespace peerchat::cli
