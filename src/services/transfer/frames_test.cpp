#include "services/transfer/frames.hpp"

#include <gtest/gtest.h>

namespace peerchat::transfer {
namespace {

TransferId id_of(std::uint8_t seed) {
  TransferId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(seed + i * 17);
  return id;
}

// Every frame decodes to what was encoded, and no shorter or longer payload decodes at all.
template <class T, class Decode>
void expect_exact(const T& frame, Decode decode) {
  const auto bytes = encode(frame);
  ASSERT_TRUE(decode(bytes).ok());
  EXPECT_EQ(encode(*decode(bytes)), bytes);
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_FALSE(decode(std::span(bytes).first(size)).ok()) << size;
  }
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decode(longer).ok());
}

TEST(TransferFrames, EachRoundTripsAndRefusesEveryTruncation) {
  Offer offer{id_of(1), {}, 4096, 3, 5'000'000};
  offer.manifest_hash.fill(7);
  expect_exact(offer, decode_offer);
  expect_exact(Answer{id_of(2), true}, decode_answer);
  expect_exact(Request{id_of(3), {{0, 0, 1}, {4, 10, 1024}}}, decode_request);
  expect_exact(Cancel{id_of(4), "cancelled by alice"}, decode_cancel);
  expect_exact(Status{id_of(5), StatusCode::paused_disk_full, "no space left on /home"},
               decode_status);
  expect_exact(Done{id_of(6)}, decode_done);

  auto offered = decode_offer(encode(offer));
  EXPECT_EQ(offered->id, offer.id);
  EXPECT_EQ(offered->manifest_hash, offer.manifest_hash);
  EXPECT_EQ(offered->total_bytes, 5'000'000u);
  auto requested = decode_request(encode(Request{id_of(3), {{4, 10, 1024}}}));
  ASSERT_EQ(requested->ranges.size(), 1u);
  EXPECT_EQ(requested->ranges[0].first, 10u);
  EXPECT_EQ(requested->ranges[0].count, 1024u);
}

TEST(TransferFrames, OutOfRangeFieldsAreRefusedWithTheirReason) {
  EXPECT_FALSE(decode_offer(encode(Offer{id_of(1), {}, 0, 1, 1})).ok());  // no manifest
  EXPECT_FALSE(decode_offer(encode(Offer{id_of(1), {}, kMaxManifestBytes + 1, 1, 1})).ok());
  auto answer = encode(Answer{id_of(1), true});
  answer.back() = 2;
  EXPECT_FALSE(decode_answer(answer).ok());
  EXPECT_FALSE(decode_request(encode(Request{id_of(1), {}})).ok());           // no ranges
  EXPECT_FALSE(decode_request(encode(Request{id_of(1), {{0, 0, 0}}})).ok());  // an empty range
  auto status = encode(Status{id_of(1), StatusCode::failed, "x"});
  status[16] = 9;  // no such status
  EXPECT_FALSE(decode_status(status).ok());
  auto cancel = encode(Cancel{id_of(1), "ab"});
  cancel.back() = 0xFF;  // not UTF-8
  auto refused = decode_cancel(cancel);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("UTF-8"), std::string::npos);
  // A reason longer than the limit is cut when sent, never refused by the receiver.
  const std::string long_reason(2 * kMaxReasonBytes, 'r');
  EXPECT_EQ(decode_cancel(encode(Cancel{id_of(1), long_reason}))->message.size(), kMaxReasonBytes);
}

TEST(TransferFrames, StreamLabelsParseOnlyInTheirOneSpelling) {
  const TransferId id = id_of(9);
  auto manifest = parse_stream_label(manifest_stream_label(id));
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ(manifest->kind, StreamLabel::Kind::manifest);
  EXPECT_EQ(manifest->id, id);
  auto pieces = parse_stream_label(pieces_stream_label(id, 12, 3456));
  ASSERT_TRUE(pieces.ok());
  EXPECT_EQ(pieces->kind, StreamLabel::Kind::pieces);
  EXPECT_EQ(pieces->entry, 12u);
  EXPECT_EQ(pieces->first, 3456u);
  const std::string hex = manifest_stream_label(id).substr(9);
  for (const std::string& bad : std::vector<std::string>{
           "manifest", "manifest " + hex + " ", "manifest " + hex.substr(1), "Manifest " + hex,
           "pieces " + hex, "pieces " + hex + " 1", "pieces " + hex + " 1 2 3",
           "pieces " + hex + " 01 2", "pieces " + hex + " -1 2", "pieces " + hex + " 1 4294967296",
           "report.pdf"}) {
    EXPECT_FALSE(parse_stream_label(bad).ok()) << bad;
  }
  std::string upper = manifest_stream_label(id);
  for (auto& c : upper) c = static_cast<char>(c >= 'a' && c <= 'f' ? c - 32 : c);
  EXPECT_FALSE(parse_stream_label(upper).ok());
}

}  // namespace
}  // namespace peerchat::transfer
