#include "services/transfer/aligned_bytes.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace peerchat::transfer {

std::shared_ptr<PieceBuffers> PieceBuffers::make(std::size_t keep) {
  return std::shared_ptr<PieceBuffers>(new PieceBuffers(keep));
}

PieceBuffers::~PieceBuffers() {
  for (const Block& block : free_) std::free(block.data);
}

PieceBuffers::Block PieceBuffers::take(std::size_t size) {
  {
    std::lock_guard lock(mutex_);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->capacity >= size) {
        const Block block = *it;
        free_.erase(it);
        return block;
      }
    }
  }
  // aligned_alloc wants a size that is a multiple of the alignment.
  const std::size_t capacity =
      std::max<std::size_t>(1, (size + AlignedBytes::kAlignment - 1) / AlignedBytes::kAlignment) *
      AlignedBytes::kAlignment;
  auto* data = static_cast<std::uint8_t*>(std::aligned_alloc(AlignedBytes::kAlignment, capacity));
  if (data == nullptr) throw std::bad_alloc();
  return Block{data, capacity};
}

void PieceBuffers::give_back(Block block) {
  {
    std::lock_guard lock(mutex_);
    if (free_.size() < keep_) {
      free_.push_back(block);
      return;
    }
  }
  std::free(block.data);
}

void PieceBuffers::trim() {
  std::vector<Block> blocks;
  {
    std::lock_guard lock(mutex_);
    blocks.swap(free_);
  }
  for (const Block& block : blocks) std::free(block.data);
}

std::size_t AlignedBytes::append(std::span<const std::uint8_t> from) {
  const std::size_t take = std::min(from.size(), room());
  if (take != 0) std::memcpy(data_ + size_, from.data(), take);
  size_ += take;
  return take;
}

std::shared_ptr<AlignedBytes> PieceBuffers::buffer(std::size_t capacity) {
  const Block block = take(capacity);
  auto self = shared_from_this();
  return std::shared_ptr<AlignedBytes>(new AlignedBytes(block.data, capacity),
                                       [self = std::move(self), block](AlignedBytes* bytes) {
                                         delete bytes;
                                         self->give_back(block);
                                       });
}

std::shared_ptr<const AlignedBytes> PieceBuffers::copy(std::span<const std::uint8_t> from) {
  auto copied = buffer(from.size());
  copied->append(from);
  return copied;
}

}  // namespace peerchat::transfer
