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
