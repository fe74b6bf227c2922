#include "tls/peer_id.hpp"

#include <gtest/gtest.h>

#include "tls/errors.hpp"

namespace peerchat::tls {
namespace {

PeerId sample() {
  PeerId::Bytes bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 37 + 5);
  return PeerId(bytes);
}

TEST(PeerId, EncodesAsThirteenGroupsOfFourBase32Characters) {
  const std::string text = sample().to_string();
  EXPECT_EQ(text.size(), 52u + 12u);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i % 5 == 4) {
      EXPECT_EQ(text[i], '-') << i;
    } else {
      EXPECT_TRUE((text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= '2' && text[i] <= '7')) << i;
    }
  }
  EXPECT_EQ(sample().fingerprint(), text.substr(0, 9));
  EXPECT_EQ(sample().compact().size(), 52u);
}

TEST(PeerId, KnownVector) {
  // All-zero bytes are all 'A'; 0xFF.. is all '7' except the canonical last character.
  EXPECT_EQ(PeerId().compact(), std::string(52, 'A'));
  PeerId::Bytes ones{};
  ones.fill(0xFF);
  std::string expected(51, '7');
  expected.push_back('Q');
  EXPECT_EQ(PeerId(ones).compact(), expected);
}

TEST(PeerId, ParsesGroupedCompactAndAnyCase) {
  const PeerId id = sample();
  std::string lower = id.to_string();
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<std::string> forms;
  forms.push_back(id.to_string());
  forms.push_back(id.compact());
  forms.push_back(lower);
  for (const auto& text : forms) {
    auto parsed = PeerId::parse(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(*parsed, id);
  }
}

TEST(PeerId, RejectsMalformedText) {
  const std::string good = sample().compact();
  std::vector<std::string> bad;
  bad.push_back(good.substr(1));
  bad.push_back(good + "A");
  bad.push_back(good.substr(0, 51) + "1");
  bad.push_back("not an id");
  bad.push_back("");
  for (const auto& text : bad) {
    auto parsed = PeerId::parse(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().code, Errc::bad_peer_id);
    EXPECT_NE(parsed.error().message.find("peerchat id"), std::string::npos);
  }
  // The last character must leave its 4 unused bits zero.
  std::string noncanonical = good;
  noncanonical.back() = 'B';
  EXPECT_FALSE(PeerId::parse(noncanonical).ok());
}

TEST(PeerId, PrefixMatching) {
  const PeerId id = sample();
  const std::string compact = id.compact();
  EXPECT_TRUE(id.matches_prefix(compact.substr(0, 4)));
  EXPECT_TRUE(id.matches_prefix(id.fingerprint()));  // dashes ignored
  std::string lower = compact.substr(0, 6);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_TRUE(id.matches_prefix(lower));
  EXPECT_FALSE(id.matches_prefix(""));
  EXPECT_FALSE(id.matches_prefix("7777"));
}

}  // namespace
}  // namespace peerchat::tls
