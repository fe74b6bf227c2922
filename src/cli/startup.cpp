#include "cli/startup.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "cli/exit_codes.hpp"
#include "cli/render.hpp"
#include "wire/messages.hpp"

namespace peerchat::cli {

void setup_logging(bool verbose, bool quiet_info) {
  auto logger = spdlog::stderr_logger_st("peerchat");
  logger->set_pattern("peerchat: %l: %v");
  logger->set_level(verbose      ? spdlog::level::debug
                    : quiet_info ? spdlog::level::warn
                                 : spdlog::level::info);
  spdlog::set_default_logger(logger);
}

namespace {

class PrintSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit PrintSink(std::function<void(std::string)> print) : print_(std::move(print)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    std::string line(formatted.data(), formatted.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    // Log lines quote what peers sent (names, reasons).
    print_(sanitize_for_terminal(line));
  }
  void flush_() override {}

 private:
  std::function<void(std::string)> print_;
};

}  // namespace

LogsThrough::LogsThrough(std::function<void(std::string)> print)
    : previous_(spdlog::default_logger()) {
  auto logger =
      std::make_shared<spdlog::logger>("peerchat", std::make_shared<PrintSink>(std::move(print)));
  logger->set_pattern("peerchat: %l: %v");
  logger->set_level(previous_->level());
  spdlog::set_default_logger(logger);
}

LogsThrough::~LogsThrough() {
  spdlog::set_default_logger(previous_);
}

bool FlagFileFaults::disk_full() const {
  std::error_code ignored;
  return std::filesystem::exists(flag_, ignored);
}

std::string fallback_name() {
  const char* user = std::getenv("USER");
  if (user != nullptr && *user != '\0') return user;
  return "peer";
}

int dial_exit_code(Code code, int otherwise) {
  if (code == Code::bad_address) return kExitUsage;
  if (code == Code::connection_refused || code == Code::timeout || code == Code::resolve_failed ||
      code == Code::connect_failed) {
    return kExitConnect;
  }
  if (code == Code::tls_failed || code == Code::identity_mismatch ||
      code == Code::version_mismatch || code == Code::self_connection) {
    return kExitAuthentication;
  }
  return otherwise;
}

node::NodeConfig one_shot_config(const Profile& profile, const CommonOptions& options) {
  node::NodeConfig config;
  config.name = profile.name;
  config.listen = false;
  config.redial = false;
  config.protocol.handshake_timeout = std::chrono::seconds(options.handshake_timeout_s);
  return config;
}

std::filesystem::path default_download_dir() {
  if (const char* xdg = std::getenv("XDG_DOWNLOAD_DIR"); xdg != nullptr && *xdg == '/') {
    return std::filesystem::path(xdg) / "peerchat";
  }
  const char* home = std::getenv("HOME");
  const std::filesystem::path base = home != nullptr && *home != 0 ? home : ".";
  return base / "Downloads" / "peerchat";
}

Outcome<transfer::TransferConfig> transfer_config(const PeerOptions& options) {
  transfer::TransferConfig config;
  config.download_dir = options.download_dir.empty()
                            ? default_download_dir()
                            : std::filesystem::absolute(options.download_dir).lexically_normal();
  for (const auto& text : options.accept_files_from) {
    auto id = tls::PeerId::parse(text);
    if (!id) {
      return Failure{Code::usage, fmt::format("--accept-files-from: {}", id.error().message)};
    }
    config.accept_from.push_back(*id);
  }
  return config;
}

Result<Profile> open_profile(const CommonOptions& options, int* exit_code) {
  *exit_code = kExitDataDir;
  Profile profile;
  const std::string dir_name = options.name.empty() ? fallback_name() : options.name;
  profile.dir = options.data_dir.empty() ? store::default_data_dir(dir_name)
                                         : std::filesystem::path(options.data_dir);
  auto lock = store::DataDirLock::acquire(profile.dir);
  if (!lock) return lock.error();
  profile.lock.emplace(std::move(lock.value()));

  auto identity = tls::Identity::load_or_create(profile.dir);
  if (!identity) return identity.error();
  profile.identity.emplace(std::move(identity.value()));

  auto opened = store::Store::open(profile.dir / "peerchat.db");
  if (!opened) return opened.error();
  profile.store = std::move(opened.value());
  if (const char* flag = std::getenv("PEERCHAT_FAULT_DISK_FULL"); flag != nullptr && *flag != 0) {
    profile.faults = std::make_unique<FlagFileFaults>(flag);
    profile.store->set_fault_injector(profile.faults.get());
  }

  // The name given now wins and is remembered; otherwise the remembered one; otherwise $USER.
  if (!options.name.empty()) {
    profile.name = options.name;
  } else if (auto stored = profile.store->setting("name"); stored && stored.value()) {
    profile.name = *stored.value();
  } else {
    profile.name = fallback_name();
  }
  if (auto valid = wire::check_name(profile.name); !valid) {
    *exit_code = kExitUsage;
    return make_error(valid.error().code,
                      fmt::format("--name '{}': {}", profile.name, valid.error().message));
  }
  if (auto saved = profile.store->set_setting("name", profile.name); !saved) {
    spdlog::warn("could not remember the display name: {}", saved.error().message);
  }
  *exit_code = kExitOk;
  return profile;
}

}  // namespace peerchat::cli
