#include "wire/messages.hpp"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "wire/errors.hpp"
#include "wire/frame.hpp"
#include "wire/utf8.hpp"

namespace peerchat::wire {
namespace {

// The payload of the single frame that `message` encodes to.
template <class T>
Bytes payload_of(const T& message) {
  Bytes frame;
  encode(frame, message);
  return Bytes(frame.begin() + static_cast<std::ptrdiff_t>(kHeaderSize + 1), frame.end());
}

TEST(Messages, HelloNameLimits) {
  EXPECT_TRUE(decode_hello(payload_of(Hello{1, 1, 0, std::string(kMaxNameBytes, 'n')})).ok());
  auto too_long = decode_hello(payload_of(Hello{1, 1, 0, std::string(kMaxNameBytes + 1, 'n')}));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, Errc::name_too_long);
  auto empty = decode_hello(payload_of(Hello{1, 1, 0, ""}));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Errc::bad_field);
  auto bad_utf8 = decode_hello(payload_of(Hello{1, 1, 0, "\xC0\x80"}));
  ASSERT_FALSE(bad_utf8.ok());
  EXPECT_EQ(bad_utf8.error().code, Errc::invalid_utf8);
}

TEST(Messages, ChatTextLimits) {
  Chat chat;
  chat.seq = 1;
  chat.text = std::string(kMaxTextBytes, 'a');
  EXPECT_TRUE(decode_chat(payload_of(chat)).ok());
  chat.text.push_back('a');
  auto too_long = decode_chat(payload_of(chat));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, Errc::text_too_long);
  chat.text = "bad \xFF byte";
  auto invalid = decode_chat(payload_of(chat));
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, Errc::invalid_utf8);
  chat.text = "";
  EXPECT_TRUE(decode_chat(payload_of(chat)).ok());
  chat.seq = 0;
  auto zero = decode_chat(payload_of(chat));
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, Errc::bad_field);
}

TEST(Messages, TruncatedAndTrailingBytesAreRejected) {
  Bytes hello = payload_of(Hello{1, 1, 0, "bob"});
  hello.pop_back();
  EXPECT_EQ(decode_hello(hello).error().code, Errc::truncated);
  Bytes ack = payload_of(Ack{1});
  ack.push_back(0);
  EXPECT_EQ(decode_ack(ack).error().code, Errc::trailing_bytes);
  Bytes credit = payload_of(Credit{1});
  credit.pop_back();
  EXPECT_EQ(decode_credit(credit).error().code, Errc::truncated);
  EXPECT_EQ(decode_chat(Bytes(10, 0)).error().code, Errc::truncated);
  EXPECT_EQ(decode_ping(Bytes{}).error().code, Errc::truncated);
  Bytes bye = payload_of(Bye{ByeReason::quit, "x"});
  bye.push_back('y');
  EXPECT_EQ(decode_bye(bye).error().code, Errc::trailing_bytes);
}

TEST(Messages, ZeroCreditIsRejected) {
  EXPECT_EQ(decode_credit(payload_of(Credit{0})).error().code, Errc::bad_field);
}

TEST(Messages, ByeWithAnUnknownReasonStillDecodes) {
  Bytes bye = payload_of(Bye{ByeReason::quit, "later"});
  bye[0] = 200;
  auto decoded = decode_bye(bye);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(to_string(decoded->reason), "other");
}

// BYE reasons become `disconnected.reason` codes under the names docs/protocol.md gives them;
// every value a peer can send maps to a registered reason.
TEST(Messages, ByeReasonsAreRegisteredReasonCodes) {
  const std::vector<std::string_view> documented = {
      "quit",    "shutdown",        "duplicate",         "protocol_error", "version_mismatch",
      "timeout", "self_connection", "identity_mismatch", "overloaded"};
  for (unsigned value = 0; value <= 255; ++value) {
    const auto reason = static_cast<ByeReason>(value);
    const Code code = to_code(reason);
    EXPECT_TRUE(kinds(code).reason) << value;
    EXPECT_EQ(to_string(reason), name(code));
    if (value < documented.size()) {
      EXPECT_EQ(name(code), documented[value]);
    } else {
      EXPECT_EQ(code, Code::other) << value;
    }
  }
}

TEST(Messages, MessageIdsPrintAsHex) {
  MessageId id{};
  id[0] = 0x01;
  id[15] = 0xFE;
  EXPECT_EQ(to_hex(id),
            "01000000000000000000000000000"
            "0fe");
}

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(Utf8, RejectsMalformedText) {
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\x80"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));              // stray continuation
  EXPECT_FALSE(is_valid_utf8("\xFF"));
}

}  // namespace
}  // namespace peerchat::wire
