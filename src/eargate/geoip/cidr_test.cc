#include "eargate/geoip/cidr.h"

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"

namespace eargate::geoip {
namespace {

IpAddress Ip(const char* s) {
  auto ip = IpAddress::Parse(s);
  EXPECT_TRUE(ip.has_value()) << s;
  return ip.value_or(IpAddress{});
}

// Test that both families parse, print back, and that IPv4-mapped IPv6 counts as IPv4.
TEST(IpAddressTest, ParsesBothFamilies) {
  EXPECT_TRUE(Ip("203.0.113.9").v4);
  EXPECT_EQ(Ip("203.0.113.9").ToString(), "203.0.113.9");
  EXPECT_FALSE(Ip("2001:db8::1").v4);
  EXPECT_EQ(Ip("2001:db8::1").ToString(), "2001:db8::1");
  EXPECT_EQ(Ip("[::1]").ToString(), "::1");
  EXPECT_TRUE(Ip("::ffff:198.51.100.7").v4);
  EXPECT_EQ(Ip("::ffff:198.51.100.7"), Ip("198.51.100.7"));
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "300.1.1.1", "hello", "1.2.3.4 ", "::g",
                          "[1.2.3.4", "01234567890123456789012345678901234567890123456789"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << bad;
  }
}

// Test that CIDR blocks of both families match exactly their addresses.
TEST(CidrSetTest, MatchesBlocks) {
  auto set = CidrSet::Parse({"10.0.0.0/8", "127.0.0.1", "2001:db8::/32", "192.168.1.0/24",
                             "192.168.0.0/16"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->Contains(Ip("10.255.255.255")));
  EXPECT_TRUE(set->Contains(Ip("10.0.0.0")));
  EXPECT_FALSE(set->Contains(Ip("11.0.0.0")));
  EXPECT_FALSE(set->Contains(Ip("9.255.255.255")));
  EXPECT_TRUE(set->Contains(Ip("127.0.0.1")));
  EXPECT_FALSE(set->Contains(Ip("127.0.0.2")));
  EXPECT_TRUE(set->Contains(Ip("::ffff:127.0.0.1")));
  EXPECT_TRUE(set->Contains(Ip("2001:db8:ffff::1")));
  EXPECT_FALSE(set->Contains(Ip("2001:db9::1")));
  EXPECT_TRUE(set->Contains(Ip("192.168.200.1")));
  EXPECT_EQ(set->size(), 4u);  // the /24 merged into the /16
  EXPECT_FALSE(CidrSet().Contains(Ip("1.1.1.1")));
}

// Test that an IPv4 block does not match IPv6 addresses outside the mapped range.
TEST(CidrSetTest, FamiliesDoNotLeak) {
  auto set = CidrSet::Parse({"0.0.0.0/0"});
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->Contains(Ip("8.8.8.8")));
  EXPECT_FALSE(set->Contains(Ip("2001:4860::8888")));
  auto all6 = CidrSet::Parse({"::/0"});
  ASSERT_TRUE(all6.ok());
  EXPECT_TRUE(all6->Contains(Ip("2001:4860::8888")));
  EXPECT_TRUE(all6->Contains(Ip("8.8.8.8")));
}

// Test that every bad entry is reported, not only the first.
TEST(CidrSetTest, ReportsEveryBadEntry) {
  auto set = CidrSet::Parse({"1.2.3.4/33", "ok", "10.0.0.0/8", "::/129", "1.2.3.4/x"});
  ASSERT_FALSE(set.ok());
  std::string msg(set.status().message());
  EXPECT_NE(msg.find("entry 0: bad prefix length"), std::string::npos) << msg;
  EXPECT_NE(msg.find("entry 1: not an IP address"), std::string::npos) << msg;
  EXPECT_NE(msg.find("entry 3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("entry 4:"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("entry 2"), std::string::npos) << msg;
}

// Test that a ranges file takes comments and blank lines and names path:line on errors.
TEST(CidrSetTest, LoadsFile) {
  std::string path = ::testing::TempDir() + "/cidr_test_ranges.txt";
  {
    std::ofstream out(path);
    out << "# Tor exits\n\n185.220.101.0/24  # relay\n2a0b:f4c0::/32\n";
  }
  auto set = CidrSet::LoadFile(path);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->Contains(Ip("185.220.101.7")));
  EXPECT_TRUE(set->Contains(Ip("2a0b:f4c0::1")));
  {
    std::ofstream out(path);
    out << "10.0.0.0/8\nnonsense\n";
  }
  set = CidrSet::LoadFile(path);
  ASSERT_FALSE(set.ok());
  EXPECT_NE(std::string(set.status().message()).find(path + ":2:"), std::string::npos) << set.status();
  std::remove(path.c_str());
  EXPECT_EQ(CidrSet::LoadFile(path).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace eargate::geoip
