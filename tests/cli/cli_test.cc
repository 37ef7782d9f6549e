// Runs the real eargate binary as a user would and checks exit codes and output.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <algorithm>
#include <cstdlib>
#include <vector>

namespace {

struct Result {
  int code;
  std::string out;  // stdout
  std::string err;  // stderr
};

Result Eargate(const std::string& args, const std::string& stdin_text = "") {
  static int n = 0;
  std::string base = std::filesystem::temp_directory_path() / ("eargate_cli_" + std::to_string(getpid()) + "_" + std::to_string(n++));
  std::string in = base + ".in", err = base + ".err";
  std::ofstream(in) << stdin_text;
  std::string cmd = std::string(EARGATE_BINARY) + " " + args + " <" + in + " 2>" + err;
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t k;
  while ((k = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, k);
  int status = pclose(p);
  std::ifstream e(err);
  std::string err_text((std::istreambuf_iterator<char>(e)), {});
  std::filesystem::remove(in);
  std::filesystem::remove(err);
  return {WEXITSTATUS(status), out, err_text};
}

const std::string kSrc = EARGATE_SOURCE_DIR;
const std::string kLetter = kSrc + "/examples/policies/letter.yaml";

TEST(CliTest, EveryExamplePolicyPassesCheck) {
  int checked = 0;
  for (const auto& e : std::filesystem::directory_iterator(kSrc + "/examples/policies")) {
    if (e.path().extension() != ".yaml") continue;
    Result r = Eargate("policy check " + e.path().string());
    EXPECT_EQ(r.code, 0) << e.path() << "\n" << r.err;
    EXPECT_NE(r.out.find("version: sha256:"), std::string::npos);
    ++checked;
  }
  EXPECT_EQ(checked, 8);
}

TEST(CliTest, PolicyCheckReportsErrorsWithExit2) {
  std::string bad = std::filesystem::temp_directory_path() / "eargate_bad_policy.yaml";
  std::ofstream(bad) << "version: 1\nremote_access: maybe\nitems: []\n";
  Result r = Eargate("policy check " + bad);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, bad + ":2:16: remote_access: must be release or not_an_export (got 'maybe')\n" +
                       bad + ":3:8: items: at least one item is required\n");
  std::filesystem::remove(bad);
}

TEST(CliTest, PolicyShowSaysWhatIsInForce) {
  Result before = Eargate("policy show " + kLetter + " --at 2026-06-01T00:00:00Z");
  Result after = Eargate("policy show " + kLetter + " --at 2026-07-01T00:00:00Z");
  EXPECT_EQ(before.code, 0);
  EXPECT_NE(before.out.find("Notices in force (0 of 1)"), std::string::npos) << before.out;
  EXPECT_NE(after.out.find("Notices in force (1 of 1)"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("a license is required for every export, reexport, transfer and release of mythos-5, fable-5"),
            std::string::npos) << after.out;
}

TEST(CliTest, DecideOneRequest) {
  Result r = Eargate("decide --policy " + kLetter + " " + kSrc + "/examples/requests/us-person-at-home.json");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{\"decision\":\"allow\"", 0), 0u) << r.out;
}

TEST(CliTest, BatchBadLineYieldsErrorObjectAndTheRestGoOn) {
  std::string lines =
      R"({"item":"mythos-5","at":"2026-06-13T12:00:00Z","person":{"id":"a","citizenships":["US"]},"location":{"country":"US"}})" "\n"
      "{not json\n"
      R"({"item":"mythos-5","at":"2026-06-13T12:00:00Z","person":{"id":"b","citizenships":["XX"]},"location":{"country":"US"}})" "\n"
      "\n"
      R"({"item":"mythos-5","at":"2026-06-13T12:00:00Z","person":{"id":"c","citizenships":["FR"]},"location":{"country":"FR"}})" "\n";
  Result r = Eargate("decide --policy " + kLetter + " --batch -", lines);
  EXPECT_EQ(r.code, 2);
  std::vector<std::string> out;
  size_t pos = 0, nl;
  while ((nl = r.out.find('\n', pos)) != std::string::npos) {
    out.push_back(r.out.substr(pos, nl - pos));
    pos = nl + 1;
  }
  ASSERT_EQ(out.size(), 4u) << r.out;
  EXPECT_EQ(out[0].rfind("{\"decision\":\"allow\"", 0), 0u);
  EXPECT_EQ(out[1].rfind("{\"error\":{\"line\":2,\"message\":\"request: malformed JSON", 0), 0u) << out[1];
  EXPECT_EQ(out[2], "{\"error\":{\"line\":3,\"message\":\"person.citizenships[0]: unknown country 'XX' (ISO 3166-1 alpha-2, upper case)\"}}");
  EXPECT_EQ(out[3].rfind("{\"decision\":\"deny\"", 0), 0u);
  EXPECT_EQ(r.err, "eargate decide: 2 line(s) could not be decided (see their error objects)\n");
}

TEST(CliTest, ImpactBadInputNamesFileLineAndField) {
  std::string people = std::filesystem::temp_directory_path() / "eargate_cli_people.jsonl";
  std::ofstream(people) << "{\"id\":\"a\",\"citizenships\":[\"US\"]}\n{\"id\":\"b\",\"citizenships\":[\"XX\"]}\n";
  std::string adv = kSrc + "/examples/policies/advisory-opinions.yaml";
  Result r = Eargate("impact --before " + adv + " --after " + kLetter + " --people " + people);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, people + ":2: citizenships[0]: unknown country 'XX' (ISO 3166-1 alpha-2, upper case)\n");
  std::string bad = std::filesystem::temp_directory_path() / "eargate_cli_bad.yaml";
  std::ofstream(bad) << "version: 1\nremote_access: release\nitems:\n  - {id: m, kind: model, classification: EAR99, served_from: [US], service_level: saas, colour: red}\n";
  r = Eargate("impact --before " + adv + " --after " + bad + " --people synth:10");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, bad + ":4:89: items[]: unknown key 'colour' (allowed: aliases, classification, id, kind, name, part744_supp2, served_from, service_level)\n");
  r = Eargate("impact --before " + adv + " --after " + kLetter + " --people synth:0");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "--people: synth:COUNT[:SEED] needs a positive count (got 'synth:0')\n");
  r = Eargate("impact --before " + adv + " --after " + kLetter + " --people synth:20 --format pdf");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "--format: must be text, json or html (got 'pdf')\n");
  std::filesystem::remove(people);
  std::filesystem::remove(bad);
}

TEST(CliTest, ImpactJsonKnownCounts) {
  Result r = Eargate("impact --before " + kSrc + "/examples/policies/advisory-opinions.yaml --after " + kLetter +
                     " --people " + kSrc + "/tests/report/five.jsonl --items mythos-5 --at 2026-07-01T00:00:00Z --format json");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"people\":5,\"pairs\":5,\"transitions\":{\"allow->allow\":1,\"allow->deny\":3,\"deny->deny\":1}"),
            std::string::npos) << r.out;
}

// Test the registry path of impact end to end: people imported into a store, decisions made by
// `eargate decide --audit-dir` and recorded in the decision log, then impact over the registry
// with each person's uses (item, channel, count) read from that log.
TEST(CliTest, ImpactOverRegistryWithUsageFromTheDecisionLog) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("eargate_cli_registry_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string people = (dir / "people.jsonl").string();
  std::ofstream(people)
      << R"({"id":"cn-in-us","citizenships":["CN"],"us_person":false,"location":{"country":"US"},"api_key_sha256":")"
      << std::string(64, 'a') << "\"}\n"
      << R"({"id":"us-home","citizenships":["US"],"us_person":true,"location":{"country":"US"}})" << "\n";
  std::string url = "sqlite://" + (dir / "registry.db").string();
  Result imp = Eargate("people import --store " + url + " " + people);
  ASSERT_EQ(imp.code, 0) << imp.err;
  // cn-in-us calls fable-5 on the web channel twice (located in the US).
  std::string requests = (dir / "requests.jsonl").string();
  std::ofstream(requests)
      << R"({"item":"fable-5","channel":"web","person":{"id":"cn-in-us"},"location":{"country":"US"}})" << "\n"
      << R"({"item":"fable-5","channel":"web","person":{"id":"cn-in-us"},"location":{"country":"US"}})" << "\n";
  std::string audit = (dir / "audit").string();
  Result dec = Eargate("decide --policy " + kSrc + "/examples/policies/advisory-opinions.yaml --people " + people +
                       " --batch " + requests + " --at 2026-07-01T00:00:00Z --audit-dir " + audit);
  ASSERT_EQ(dec.code, 0) << dec.err;
  EXPECT_EQ(std::count(dec.out.begin(), dec.out.end(), '\n'), 2);
  Result ver = Eargate("audit verify --dir " + audit);
  EXPECT_EQ(ver.code, 0) << ver.out << ver.err;
  Result search = Eargate("audit search --dir " + audit + " --person cn-in-us");
  EXPECT_EQ(std::count(search.out.begin(), search.out.end(), '\n'), 2) << search.out;
  EXPECT_NE(search.out.find("\"endpoint\":\"cli\""), std::string::npos) << search.out;

  Result r = Eargate("impact --before " + kSrc + "/examples/policies/advisory-opinions.yaml --after " + kLetter +
                     " --people registry --store " + url + " --usage " + audit +
                     " --at 2026-07-01T00:00:00Z --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  // cn-in-us: its one use (fable-5 on web, 2 decisions); us-home: no decisions, every item.
  EXPECT_NE(r.out.find("\"people\":2,\"pairs\":4,\"transitions\":{\"allow->allow\":3,\"allow->deny\":1}"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"traffic_transitions\":{\"allow->allow\":3,\"allow->deny\":2}"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"people_with_uses\":1,\"uses_outside\":0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("{\"person\":\"cn-in-us\",\"item\":\"fable-5\",\"layer\":\"application\",\"channel\":\"web\",\"before\":\"allow\",\"after\":\"deny\""),
            std::string::npos) << r.out;
  EXPECT_NE(r.err.find("usage: 2 decisions in " + audit + "; 1 of 2 people have some"), std::string::npos) << r.err;

  Result missing = Eargate("impact --before " + kLetter + " --after " + kLetter + " --people registry --store sqlite://" +
                           (dir / "nodir" / "x.db").string());
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("--store: "), std::string::npos) << missing.err;
  Result nolog = Eargate("impact --before " + kLetter + " --after " + kLetter + " --people " + people + " --usage " +
                         (dir / "no-such-log").string());
  EXPECT_EQ(nolog.code, 2);
  EXPECT_NE(nolog.err.find("--usage: "), std::string::npos) << nolog.err;
  fs::remove_all(dir);
}

// Registry changes made from the CLI with --audit-dir are recorded first, as the admin API
// records them: admin_change records with who (the OS user), what, before and after; the log
// verifies. A change whose record cannot be written is refused and changes nothing.
TEST(CliTest, RegistryChangesFromTheCliAreRecorded) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("eargate_cli_changes_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string key(64, 'b');
  std::string people = (dir / "people.jsonl").string();
  std::ofstream(people) << R"({"id":"p-1","name":"Ada Smith","citizenships":["US"],"us_person":true})" << "\n";
  std::string url = "sqlite://" + (dir / "registry.db").string();
  std::string audit = (dir / "audit").string();
  Result imp = Eargate("people import --store " + url + " --audit-dir " + audit + " " + people);
  ASSERT_EQ(imp.code, 0) << imp.err;
  // The same person again with a new citizenship and a key: an update, with the before.
  std::ofstream(people) << R"({"id":"p-1","name":"Ada Smith","citizenships":["DE"],"us_person":false,"api_key_sha256":")"
                        << key << "\"}\n";
  imp = Eargate("people import --store " + url + " --audit-dir " + audit + " " + people);
  ASSERT_EQ(imp.code, 0) << imp.err;
  Result rev = Eargate("people revoke-key --store " + url + " --audit-dir " + audit + " " + key);
  ASSERT_EQ(rev.code, 0) << rev.err;
  Result tok = Eargate("admin token create --store " + url + " --audit-dir " + audit + " --name ops --role viewer");
  ASSERT_EQ(tok.code, 0) << tok.err;

  Result ver = Eargate("audit verify --dir " + audit);
  EXPECT_EQ(ver.code, 0) << ver.out << ver.err;
  Result search = Eargate("audit search --dir " + audit + " --person p-1");
  ASSERT_EQ(search.code, 0) << search.err;
  std::vector<std::string> lines;
  for (size_t at = 0, nl; (nl = search.out.find('\n', at)) != std::string::npos; at = nl + 1)
    lines.push_back(search.out.substr(at, nl - at));
  ASSERT_EQ(lines.size(), 3u) << search.out;
  EXPECT_NE(lines[0].find("\"type\":\"admin_change\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"who\":{\"name\":\"cli:"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"role\":\"cli\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"what\":\"person.create\",\"target\":\"p-1\",\"before\":null,\"after\":{\"id\":\"p-1\""),
            std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("\"what\":\"person.update\""), std::string::npos) << lines[1];
  // before: the US citizen without keys; after: the German citizen with the key.
  size_t before = lines[1].find("\"before\":{"), after = lines[1].find("\"after\":{");
  ASSERT_NE(before, std::string::npos) << lines[1];
  ASSERT_NE(after, std::string::npos) << lines[1];
  EXPECT_NE(lines[1].substr(before, after - before).find("\"country\":\"US\""), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].substr(after).find("\"country\":\"DE\""), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].substr(after).find(key), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("\"what\":\"api_key.revoke\""), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("\"before\":{\"person_id\":\"p-1\",\"key_sha256\":\"" + key + "\",\"active\":true}"),
            std::string::npos) << lines[2];
  Result all = Eargate("audit search --dir " + audit);
  EXPECT_NE(all.out.find("\"what\":\"admin_token.create\""), std::string::npos) << all.out;
  EXPECT_EQ(all.out.find("egadm-"), std::string::npos) << "the token itself must not be recorded";

  // A log that cannot be written (a file where the directory should be): refused, nothing changed.
  std::string blocked = (dir / "not-a-dir").string();
  std::ofstream(blocked) << "x";
  std::ofstream(people) << R"({"id":"p-2","citizenships":["FR"],"us_person":false})" << "\n";
  Result refused = Eargate("people import --store " + url + " --audit-dir " + blocked + " " + people);
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("--audit-dir: the changes could not be recorded"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("nothing changed"), std::string::npos) << refused.err;
  Result exported = Eargate("people export --store " + url);
  EXPECT_EQ(exported.out.find("p-2"), std::string::npos) << exported.out;
  fs::remove_all(dir);
}

TEST(CliTest, PeopleSynthIsDeterministic) {
  Result a = Eargate("people synth --count 50 --seed 9");
  Result b = Eargate("people synth --count 50 --seed 9");
  EXPECT_EQ(a.code, 0);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(std::count(a.out.begin(), a.out.end(), '\n'), 50);
}

TEST(CliTest, UsageErrorsExit2) {
  EXPECT_EQ(Eargate("decide --policy " + kLetter).code, 2);
  EXPECT_EQ(Eargate("no-such-command").code, 2);
  Result r = Eargate("decide --policy /nonexistent.yaml x.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "/nonexistent.yaml: cannot open file\n");
  EXPECT_EQ(Eargate("--help").code, 0);
}

}  // namespace
