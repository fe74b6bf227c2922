#include "net/address.hpp"

#include <gtest/gtest.h>

namespace peerchat::net {
namespace {

TEST(Address, ParsesTheForms) {
  auto v4 = parse_dial_target("127.0.0.1:7001");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 7001);
  auto v6 = parse_dial_target("[::1]:7001");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->address(), "[::1]:7001");
  auto name = parse_dial_target("LocalHost:80");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->address(), "localhost:80");
  auto with_id = parse_dial_target("ABCD-EFGH@host:1");
  ASSERT_TRUE(with_id.ok());
  EXPECT_EQ(with_id->expected_id, "ABCD-EFGH");
  EXPECT_EQ(with_id->host, "host");
}

TEST(Address, RejectsMalformedAddresses) {
  for (const char* text : {":7001", "host", "host:0", "host:65536", "host:x", "::1:7001",
                           "[::1]7001", "@host:1", "[127.0.0.1]:80", "ho st:1", ""}) {
    auto parsed = parse_dial_target(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message.find("HOST:PORT"), std::string::npos);
  }
}

}  // namespace
}  // namespace peerchat::net
