// Black-box tests of `eargate screen` and `eargate lists load` (the built binary).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

namespace {

const std::string kSource = EARGATE_SOURCE_DIR;

struct Result {
  int code;
  std::string out;
};

Result RunEargate(const std::string& args) {
  std::string cmd = std::string(EARGATE_BINARY) + " --data-dir " + kSource + "/data " + args;
  Result r{0, ""};
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.code = WEXITSTATUS(status);
  return r;
}

std::string TempFile(const std::string& name, const std::string& content) {
  std::string path = testing::TempDir() + name;
  std::ofstream(path) << content;
  return path;
}

// Test the SPEC §3 output shape for a name given as an argument.
TEST(ScreenCliTest, NameArgument) {
  Result r = RunEargate("screen 'Banco Nacional de Cuba' --limit 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("{\"query\": {\"name\": \"Banco Nacional de Cuba\"}, \"matches\": "
                        "[{\"list\": \"us_ofac_sdn\", \"entity_id\": \"306\", \"name\": \"BANCO "
                        "NACIONAL DE CUBA\", \"matched_name\": \"BANCO NACIONAL DE CUBA\", "
                        "\"score\": 1, \"cite\": \"31 CFR 501 (SDN)\"",
                        0),
            0u)
      << r.out;
  r = RunEargate("screen 'Jennifer L. McClellan'");
  EXPECT_EQ(r.out, "{\"query\": {\"name\": \"Jennifer L. McClellan\"}, \"matches\": []}\n");
}

// Test --batch with JSON lines and CSV, one output line per query, and --list.
TEST(ScreenCliTest, Batch) {
  std::string jsonl = TempFile("q.jsonl",
                               "{\"name\": \"Abdul Satar Ghoura\", \"country\": \"AF\"}\n\n"
                               "{\"name\": \"Nobody Inparticular\", \"type\": \"person\"}\n");
  Result r = RunEargate("screen --batch " + jsonl);
  ASSERT_EQ(r.code, 0);
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
  EXPECT_NE(r.out.find("\"country\": \"AF\"}"), std::string::npos);
  EXPECT_NE(r.out.find("\"list\": \"us_bis_el\""), std::string::npos);
  EXPECT_NE(r.out.find("\"cite\": \"15 CFR 744.11; Supp. 4 to Part 744\""), std::string::npos);
  std::string csv = TempFile("q.csv", "id,name\n1,ROSNEFT TRADE LIMITED\n2,\"SMITH, Jane\"\n");
  r = RunEargate("screen --batch " + csv + " --list " + kSource +
          "/tests/screening/csl_sample_2025-06.csv");
  ASSERT_EQ(r.code, 0);
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
  EXPECT_NE(r.out.find("\"list\": \"us_ofac_ssi\", \"entity_id\": \"18300\""), std::string::npos);
  EXPECT_NE(r.out.find("\"binding\": false"), std::string::npos);
}

// Test that bad input names the field/line and exits 2.
TEST(ScreenCliTest, BadInput) {
  std::string bad = TempFile("bad.jsonl", "{\"name\": \"A B\"}\n{\"nam\": \"x\"}\n");
  Result r = RunEargate("screen --batch " + bad + " 2>&1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("bad.jsonl:2: field \"name\" is missing or empty"), std::string::npos)
      << r.out;
  r = RunEargate("screen 'A B' --country Germany 2>&1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("field \"country\""), std::string::npos);
  r = RunEargate("screen 'A B' --type ship 2>&1");
  EXPECT_EQ(r.code, 2);
  r = RunEargate("screen 'A B' --threshold 2 2>&1");
  EXPECT_EQ(r.code, 2);
  std::string csv = TempFile("noname.csv", "who\nx\n");
  r = RunEargate("screen --batch " + csv + " 2>&1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("no \"name\" column"), std::string::npos);
  r = RunEargate("screen 'A B' --list " + bad + " 2>&1");  // JSON lines are no list file
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("bad.jsonl: not valid JSON"), std::string::npos) << r.out;
  std::string notes = TempFile("notes.txt", "hello\n");
  r = RunEargate("screen 'A B' --list " + notes + " 2>&1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("notes.txt:1: unrecognised list format"), std::string::npos) << r.out;
}

// Test `lists load`: counts per list, and an error with file:line.
TEST(ScreenCliTest, ListsLoad) {
  Result r = RunEargate("lists load " + kSource + "/data/screening/bis_dpl_2023-11/dpl.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("bis_dpl, 665 rows"), std::string::npos);
  EXPECT_NE(r.out.find("us_bis_dpl: 665 entries"), std::string::npos);
  std::string bad = TempFile("sdn.csv", "12,\"X\",-0- \n");
  r = RunEargate("lists load " + bad + " 2>&1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("sdn.csv:1: looks like OFAC legacy CSV but has 3 columns"),
            std::string::npos)
      << r.out;
  r = RunEargate("screen --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--batch"), std::string::npos);
}

}  // namespace

namespace {

// Test that `lists rescreen` screens a people file against new lists, marks each hit against
// the previous lists (new here: Noriega is on the SDN list, not on the DPL), keeps unchanged
// hits unchanged, and reports removed hits when the lists are swapped back.
TEST(ScreenCliTest, ListsRescreen) {
  std::string people = TempFile(
      "rescreen_people.jsonl",
      R"({"id":"p1","name":"Manuel Antonio Noriega","citizenships":["PA"],"api_key_sha256":"1111111111111111111111111111111111111111111111111111111111111111"})"
      "\n"
      R"({"id":"p2","name":"Ada Smith","citizenships":["US"],"api_key_sha256":"2111111111111111111111111111111111111111111111111111111111111111"})"
      "\n");
  const std::string dpl = kSource + "/data/screening/bis_dpl_2023-11";
  const std::string sdn = kSource + "/data/screening/ofac_sdn_2021-07";
  Result r = RunEargate("lists rescreen --people " + people + " --previous " + dpl + " --lists " + sdn + " " + dpl);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out,
            "{\"change\": \"new\", \"party\": \"p1\", \"list\": \"us_ofac_sdn\", \"entry_id\": \"1572\", "
            "\"listed_name\": \"NORIEGA, Manuel Antonio\", \"score\": 1, \"band\": \"confirmed\"}\n");
  r = RunEargate("lists rescreen --people " + people + " --previous " + sdn + " --lists " + dpl + " 2>&1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("{\"change\": \"removed\", \"party\": \"p1\", \"list\": \"us_ofac_sdn\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 people screened against 665 list entries: 0 new, 0 unchanged, 0 band_changed, 1 removed hits"),
            std::string::npos) << r.out;
  r = RunEargate("lists rescreen --people " + people + " --lists " + sdn + " --changes-only --previous " + sdn);
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "");
  // Bad input names the option.
  std::string bad = TempFile("rescreen_bad.csv", "not a list\n");
  r = RunEargate("lists rescreen --people " + people + " --lists " + bad + " 2>&1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--lists: " + bad + ":1: unrecognised list format"), std::string::npos) << r.out;
  r = RunEargate("lists rescreen --people /nonexistent.jsonl --lists " + sdn + " 2>&1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--people: "), std::string::npos) << r.out;
  r = RunEargate("lists rescreen --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--previous"), std::string::npos);
}

}  // namespace
