#include "cli/terminal.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

namespace peerchat::cli {

Terminal::Terminal(int in_fd, int out_fd) : in_fd_(in_fd), out_fd_(out_fd) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  if (::tcgetattr(in_fd_, &saved_) == 0) {
    termios raw = saved_;
    // No line buffering, no echo, Ctrl-C as a byte; output processing (OPOST) stays on so
    // "\n" still moves to the start of the next line.
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= ~static_cast<tcflag_t>(IXON | ICRNL);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    raw_ = ::tcsetattr(in_fd_, TCSAFLUSH, &raw) == 0;
  }
}

Terminal::~Terminal() {
  restore();
  for (int end : wake_) {
    if (end >= 0) ::close(end);
  }
}

void Terminal::restore() {
  if (raw_) {
    ::tcsetattr(in_fd_, TCSAFLUSH, &saved_);
    raw_ = false;
  }
}

bool Terminal::is_interactive(int fd) {
  return ::isatty(fd) == 1;
}

void Terminal::wake() {
  if (wake_[1] < 0) return;
  const char byte = 'x';
  [[maybe_unused]] auto ignored = ::write(wake_[1], &byte, 1);
}

void Terminal::set_prompt(std::string prompt) {
  {
    std::lock_guard lock(mutex_);
    prompt_ = std::move(prompt);
  }
  wake();
}

void Terminal::print(std::string text) {
  {
    std::lock_guard lock(mutex_);
    queued_.push_back(std::move(text));
  }
  wake();
}

void Terminal::set_live(const std::string& key, std::string line) {
  {
    std::lock_guard lock(mutex_);
    live_.set(key, std::move(line));
    live_changed_ = true;
  }
  wake();
}

std::size_t Terminal::columns() const {
  winsize size{};
  if (::ioctl(out_fd_, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

void Terminal::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
}

void Terminal::write_all(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(out_fd_, bytes.data() + done, bytes.size() - done);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return;  // the terminal is gone; nothing useful to do
    }
    done += static_cast<std::size_t>(wrote);
  }
}

void Terminal::redraw() {
  std::string prompt;
  {
    std::lock_guard lock(mutex_);
    prompt = prompt_;
  }
  write_all(editor_.render(prompt));
}

void Terminal::flush_printed(std::optional<std::string> submitted) {
  const std::size_t width = columns();
  std::string out;
  {
    std::lock_guard lock(mutex_);
    if (queued_.empty() && !live_changed_ && !submitted) return;
    std::vector<std::string> lines;
    if (submitted) lines.push_back(std::move(*submitted));
    for (auto& text : queued_) lines.push_back(std::move(text));
    queued_.clear();
    live_changed_ = false;
    // Erase the live lines and the input line, print, then draw both again below.
    out = live_.repaint(lines, width);
  }
  write_all(out);
  redraw();
}

void Terminal::run(const std::function<void(std::string)>& on_line,
                   const std::function<void()>& on_interrupt, const std::function<void()>& on_eof) {
  redraw();
  char buffer[256];
  while (true) {
    pollfd fds[2] = {{in_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    const int ready = ::poll(fds, wake_[0] >= 0 ? 2 : 1, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) {
      char drain[64];
      while (::read(wake_[0], drain, sizeof drain) > 0) {
      }
      flush_printed();
      redraw();
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    if (fds[0].revents == 0) continue;
    const ssize_t got = ::read(in_fd_, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      on_eof();
      break;
    }
    for (ssize_t i = 0; i < got; ++i) {
      switch (editor_.feed(buffer[i])) {
        case LineEditor::Action::none:
          break;
        case LineEditor::Action::redraw:
          redraw();
          break;
        case LineEditor::Action::clear_screen: {
          write_all("\x1b[H\x1b[2J");
          {
            std::lock_guard lock(mutex_);
            live_.forget_drawn();
            live_changed_ = true;
          }
          flush_printed();
          break;
        }
        case LineEditor::Action::submit: {
          std::string line = editor_.take_line();
          std::string prompt;
          {
            std::lock_guard lock(mutex_);
            prompt = prompt_;
          }
          // Leave the typed line in the scrollback (above the live lines), then a fresh prompt.
          flush_printed(prompt + line);
          on_line(std::move(line));
          break;
        }
        case LineEditor::Action::interrupt:
          on_interrupt();
          break;
        case LineEditor::Action::eof:
          on_eof();
          break;
      }
    }
  }
  {
    std::lock_guard lock(mutex_);
    live_.clear();
    live_changed_ = true;
  }
  flush_printed();
  write_all("\r\x1b[K");
  restore();
}

}  // namespace peerchat::cli
