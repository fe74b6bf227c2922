#include "tls/identity.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tls/errors.hpp"

namespace peerchat::tls {
namespace {

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/peerchat-identity-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

mode_t mode_of(const std::filesystem::path& file) {
  struct stat info {};
  ::stat(file.c_str(), &info);
  return info.st_mode & 0777;
}

TEST_F(IdentityTest, CreatesAPrivateKeyAndReloadsTheSameId) {
  auto first = Identity::load_or_create(dir_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(mode_of(dir_ / "identity.key"), 0600u);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "identity.crt"));
  EXPECT_EQ(EVP_PKEY_get_id(first->key()), EVP_PKEY_ED25519);
  auto again = Identity::load_or_create(dir_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id(), first->id());
  EXPECT_EQ(PeerId::from_certificate(again->certificate()), first->id());
}

TEST_F(IdentityTest, DifferentDirsAreDifferentIdentities) {
  auto a = Identity::load_or_create(dir_ / "a");
  std::filesystem::create_directories(dir_ / "b");
  auto b = Identity::load_or_create(dir_ / "b");
  ASSERT_FALSE(a.ok());  // the dir must exist: the data-dir lock creates it
  ASSERT_TRUE(b.ok());
  std::filesystem::create_directories(dir_ / "a");
  auto a2 = Identity::load_or_create(dir_ / "a");
  ASSERT_TRUE(a2.ok());
  EXPECT_NE(a2->id(), b->id());
}

TEST_F(IdentityTest, CertificateIsRemadeFromTheKeyWhenMissing) {
  auto first = Identity::load_or_create(dir_);
  ASSERT_TRUE(first.ok());
  std::filesystem::remove(dir_ / "identity.crt");
  auto again = Identity::load_or_create(dir_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id(), first->id());  // the key is the identity
}

TEST_F(IdentityTest, CorruptKeyIsReportedNamingTheFile) {
  std::ofstream(dir_ / "identity.key") << "not a key";
  ::chmod((dir_ / "identity.key").c_str(), 0600);
  auto loaded = Identity::load_or_create(dir_);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, Errc::identity_corrupt);
  EXPECT_NE(loaded.error().message.find("identity.key"), std::string::npos);
}

TEST_F(IdentityTest, LoosePermissionsAreTightened) {
  ASSERT_TRUE(Identity::load_or_create(dir_).ok());
  ::chmod((dir_ / "identity.key").c_str(), 0644);
  ASSERT_TRUE(Identity::load_or_create(dir_).ok());
  EXPECT_EQ(mode_of(dir_ / "identity.key"), 0600u);
}

}  // namespace
}  // namespace peerchat::tls
