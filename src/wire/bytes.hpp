// wire: big-endian field readers and writers shared by the frame codec and messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace peerchat::wire {

using Bytes = std::vector<std::uint8_t>;

inline void put_u8(Bytes& out, std::uint8_t v) {
  out.push_back(v);
}
inline void put_u16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
inline void put_u32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
inline void put_u64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
inline void put_bytes(Bytes& out, std::span<const std::uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}
inline void put_text(Bytes& out, std::string_view text) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(text.data());
  out.insert(out.end(), data, data + text.size());
}

// Grows `out` by `size` bytes and returns where they start, for encoders that write a whole
// frame at once instead of a push_back per byte.
inline std::uint8_t* grow(Bytes& out, std::size_t size) {
  const std::size_t at = out.size();
  out.resize(at + size);
  return out.data() + at;
}
inline std::uint8_t* store_u8(std::uint8_t* p, std::uint8_t v) {
  *p = v;
  return p + 1;
}
inline std::uint8_t* store_u32(std::uint8_t* p, std::uint32_t v) {
  for (int shift = 24, i = 0; shift >= 0; shift -= 8, ++i)
    p[i] = static_cast<std::uint8_t>(v >> shift);
  return p + 4;
}
inline std::uint8_t* store_u64(std::uint8_t* p, std::uint64_t v) {
  for (int shift = 56, i = 0; shift >= 0; shift -= 8, ++i)
    p[i] = static_cast<std::uint8_t>(v >> shift);
  return p + 8;
}
inline std::uint8_t* store_bytes(std::uint8_t* p, const void* data, std::size_t size) {
  if (size > 0) std::memcpy(p, data, size);
  return p + size;
}

inline std::uint32_t load_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

inline std::uint64_t load_u64(const std::uint8_t* p) {
  return (std::uint64_t{load_u32(p)} << 32) | load_u32(p + 4);
}

// Reads fields front to back; any read past the end sets a sticky failure instead of throwing,
// so a decoder checks once at the end.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::uint8_t u8() { return take(1) ? bytes_[pos_ - 1] : 0; }
  std::uint16_t u16() {
    if (!take(2)) return 0;
    return static_cast<std::uint16_t>((bytes_[pos_ - 2] << 8) | bytes_[pos_ - 1]);
  }
  std::uint32_t u32() { return take(4) ? load_u32(&bytes_[pos_ - 4]) : 0; }
  std::uint64_t u64() {
    if (!take(8)) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = pos_ - 8; i < pos_; ++i) v = (v << 8) | bytes_[i];
    return v;
  }
  void copy(std::span<std::uint8_t> out) {
    if (take(out.size())) std::memcpy(out.data(), &bytes_[pos_ - out.size()], out.size());
  }
  std::string text(std::size_t length) {
    if (!take(length)) return {};
    return std::string(reinterpret_cast<const char*>(&bytes_[pos_ - length]), length);
  }
  std::string rest() { return text(remaining()); }

  bool failed() const { return failed_; }
  std::size_t remaining() const { return failed_ ? 0 : bytes_.size() - pos_; }

 private:
  bool take(std::size_t n) {
    if (failed_ || bytes_.size() - pos_ < n) {
      failed_ = true;
      return false;
    }
    pos_ += n;
    return true;
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace peerchat::wire
