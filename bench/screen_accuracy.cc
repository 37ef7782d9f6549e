// Screening accuracy and speed report (not a test: prints figures, asserts nothing).
//
//   screen_accuracy [--threshold T] [--shared DIR] [-v] [--query NAME]... [--score A B]...
//
// -v prints every miss (with the expected entry's closest name) and false positive, except
// the held-out set's;
// --query prints the matches of NAME, --score the name-only score of A against listed B.
//
// Loads the largest list set (SDN 2024-05 + 2025-12 aliases/addresses/comments + CSL 2023-11 +
// DPL 2023-11) from ../shared/data/screening (or the bundled data/screening when absent) and
// reports, at the threshold:
//   * precision/recall on tests/screening/derived_labelled.csv (derived from the real lists,
//     used while tuning), tests/screening/heldout_labelled.csv (drawn after tuning; its misses
//     were then studied, so it is a tuning figure now) and tests/screening/heldout2_labelled.csv
//     (the same generator, a new seed, entries of neither other set: held out);
//   * recall on UN-listed people (any match counts), recall on the UN people who have an entry
//     on the loaded lists (tests/screening/un_on_us_lists.csv: the expected entry must match)
//     and false-positive rates on US Congress
//     names and 50,000 synthetic negatives, from the shared labelled/ folder (and how many of
//     the negatives written in Han characters are flagged as written and re-written surname
//     first without spaces, the way CJK names are written);
//   * cross-script pairs: share whose pairwise score reaches the threshold;
//   * index build time and memory; per-query latency p50/p99 and single-thread queries/s.
#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <unicode/uscript.h>
#include <unicode/unistr.h>

#include "eargate/core/country.h"
#include "eargate/core/csv.h"
#include "eargate/core/strings.h"
#include "eargate/screen/index.h"
#include "eargate/screen/internal/delimited.h"
#include "eargate/screen/lists.h"

namespace {

using eargate::screen::Index;
using eargate::screen::ScreenOptions;
using eargate::screen::ScreenQuery;
using Clock = std::chrono::steady_clock;

long RssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

std::vector<std::vector<std::string>> ReadCsv(const std::string& path, bool skip_comments) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::vector<std::string>> out;
  for (auto& row : eargate::screen::internal::ParseDelimited(text, ',').rows) {
    if (skip_comments && !row.fields.empty() && row.fields[0].rfind("#", 0) == 0) continue;
    out.push_back(std::move(row.fields));
  }
  return out;
}

std::vector<double> g_latencies_us;
bool verbose_flag = false;

std::vector<eargate::screen::Match> Timed(const Index& index, const ScreenQuery& q,
                                          const ScreenOptions& o) {
  auto t0 = Clock::now();
  auto m = index.Screen(q, o);
  g_latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  double threshold = eargate::screen::kDefaultThreshold;
  std::string shared = std::string(EARGATE_SOURCE_DIR) + "/../shared/data/screening";
  bool& verbose = verbose_flag;
  std::vector<std::string> queries;  // --query NAME: print the matches of NAME and exit
  std::vector<std::pair<std::string, std::string>> pairs;  // --score A B: ScoreNames, exit
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threshold") && i + 1 < argc) threshold = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--shared") && i + 1 < argc) shared = argv[++i];
    else if (!std::strcmp(argv[i], "-v")) verbose = true;
    else if (!std::strcmp(argv[i], "--query") && i + 1 < argc) queries.push_back(argv[++i]);
    else if (!std::strcmp(argv[i], "--score") && i + 2 < argc) {
      pairs.emplace_back(argv[i + 1], argv[i + 2]);
      i += 2;
    }
  }
  const bool have_shared = std::filesystem::exists(shared + "/ofac_sdn_2024-05-03/sdn.csv");
  eargate::screen::ListSetBuilder builder;
  const long rss0 = RssKiB();
  auto t0 = Clock::now();
  if (have_shared) {
    for (const char* f : {"ofac_sdn_2024-05-03/sdn.csv", "ofac_sdn_aux_2025-12/alt.csv",
                          "ofac_sdn_aux_2025-12/add.csv", "ofac_sdn_aux_2025-12/sdn_comments.csv",
                          "us_csl_2023-11/csl.csv", "bis_dpl_2023-11/dpl.txt"}) {
      if (auto st = builder.AddFile(shared + "/" + f); !st.ok()) {
        std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
        return 1;
      }
    }
  } else {
    std::printf("note: %s absent; using the bundled data/screening (smaller)\n", shared.c_str());
    if (auto st = builder.AddDirectory(std::string(EARGATE_SOURCE_DIR) + "/data/screening");
        !st.ok()) {
      std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
      return 1;
    }
  }
  auto lists = std::move(builder).Finish();
  const double parse_s = std::chrono::duration<double>(Clock::now() - t0).count();
  auto index = Index::Build(std::move(lists));
  const long rss1 = RssKiB();
  const auto& st = index->stats();
  std::printf("lists: %zu entries, %zu names, %zu tokens; parse %.0f ms, index build %.0f ms\n",
              st.entries, st.names, st.tokens, parse_s * 1000, st.build_seconds * 1000);
  std::printf("memory: index structures ~%.1f MiB; process RSS +%.1f MiB (entries + index)\n",
              st.memory_bytes / 1048576.0, (rss1 - rss0) / 1024.0);
  ScreenOptions opt;
  opt.threshold = threshold;
  std::printf("threshold %.2f\n", threshold);
  for (const auto& [a, b] : pairs) {
    std::printf("%s ~ %s: %.3f (listed as a person: %.3f)\n", a.c_str(), b.c_str(),
                index->ScoreNames(a, b),
                index->ScoreNames(a, b, eargate::screen::EntityType::kPerson));
  }
  if (!pairs.empty()) return 0;
  if (!queries.empty()) {
    for (const auto& name : queries) {
      ScreenQuery q;
      q.name = name;
      auto t = Clock::now();
      for (int k = 0; k < 2000; ++k) (void)index->Screen(q, opt);
      std::printf("%s: (%.1f us per query)\n", name.c_str(),
                  std::chrono::duration<double, std::micro>(Clock::now() - t).count() / 2000);
      for (const auto& m : index->Screen(q, opt)) {
        std::string toks;
        for (const auto& t : m.matched_tokens) toks += " " + t;
        std::printf("  %.3f %s %s \"%s\" [%s ]\n", m.score, m.entry->list.c_str(),
                    m.entry->source_id.c_str(), std::string(m.matched_name).c_str(),
                    toks.c_str());
      }
    }
    return 0;
  }

  // 1. Labelled sets derived from the real lists: the tuning sets and the held-out set (see
  //    tests/screening/README.md).
  for (const char* file : {"derived_labelled.csv", "heldout_labelled.csv", "heldout2_labelled.csv"}) {
    auto rows = ReadCsv(std::string(EARGATE_SOURCE_DIR) + "/tests/screening/" + file, false);
    struct Kind { int n = 0, ok = 0; };
    std::map<std::string, Kind> kinds;
    int tp = 0, fp = 0, pos = 0, neg = 0, wrong = 0;
    // The held-out set's misses are never printed: reading them would make it a tuning set.
    const bool verbose = ::verbose_flag && std::strcmp(file, "heldout2_labelled.csv") != 0;
    for (size_t r = 1; r < rows.size(); ++r) {
      const auto& row = rows[r];
      if (row.size() < 5) continue;
      ScreenQuery q;
      q.name = row[0];
      auto m = Timed(*index, q, opt);
      auto& k = kinds[row[4] + (row[3] == "match" ? " (+)" : " (-)")];
      ++k.n;
      if (row[3] == "match") {
        ++pos;
        bool found = false;
        for (const auto& x : m) found |= x.entry->list == row[1] && x.entry->source_id == row[2];
        if (found) { ++tp; ++k.ok; }
        else if (!m.empty()) ++wrong;
        if (!found && verbose) {
          // Why: the expected entry's closest name (name-only score) and what ranked first.
          double best = 0;
          std::string best_name = "(entry not loaded)";
          for (const auto& e : index->entries()) {
            if (e.list != row[1] || e.source_id != row[2]) continue;
            auto consider = [&](const std::string& n) {
              const double sc = index->ScoreNames(row[0], n, e.type);
              if (sc >= best) { best = sc; best_name = n; }
            };
            consider(e.name);
            for (const auto& a : e.aliases) consider(a);
          }
          std::printf("  miss %s: %s | expected %s (%.3f)", row[4].c_str(), row[0].c_str(),
                      best_name.c_str(), best);
          if (!m.empty()) {
            std::printf(" | got %s (%.3f, %zu matches)", std::string(m[0].matched_name).c_str(),
                        m[0].score, m.size());
          }
          std::printf("\n");
        }
      } else {
        ++neg;
        if (!m.empty()) {
          ++fp;
          if (verbose) std::printf("  fp %s: %s -> %s (%.3f)\n", row[4].c_str(), row[0].c_str(),
                                   std::string(m[0].matched_name).c_str(), m[0].score);
        } else {
          ++k.ok;
        }
      }
    }
    std::printf("%s set (tests/screening/%s): %d positives, %d negatives\n",
                std::strcmp(file, "heldout2_labelled.csv") == 0 ? "held-out" : "tuning", file, pos, neg);
    for (const auto& [name, k] : kinds) {
      std::printf("  %-16s %4d/%-4d correct\n", name.c_str(), k.ok, k.n);
    }
    const double precision = tp + fp + wrong ? double(tp) / (tp + fp + wrong) : 1;
    std::printf("  recall %.4f  precision %.4f  (TP %d, FP on negatives %d, wrong entity %d)\n",
                pos ? double(tp) / pos : 0, precision, tp, fp, wrong);
  }
  // 2. Shared labelled files.
  const std::string lab = shared + "/labelled/";
  if (std::filesystem::exists(lab + "yente_candidate_generation/positives_un_untreated.csv")) {
    // with_dob: the query also gives the row's birth year (column date_of_birth), untimed.
    auto rate = [&](const std::string& file, size_t cap, bool with_dob = false) {
      auto rows = ReadCsv(lab + file, false);
      int n = 0, hit = 0;
      for (size_t r = 1; r < rows.size() && static_cast<size_t>(n) < cap; ++r) {
        if (rows[r].empty() || rows[r][0].empty()) continue;
        ScreenQuery q;
        q.name = rows[r][0];
        if (with_dob && rows[r].size() > 5 && rows[r][5].size() >= 4) {
          q.birth_year = std::atoi(rows[r][5].substr(0, 4).c_str());
        }
        ++n;
        auto m = with_dob ? index->Screen(q, opt) : Timed(*index, q, opt);
        if (with_dob) {
          hit += !m.empty();
          continue;
        }
        if (!m.empty()) {
          ++hit;
          if (verbose && file.find("positives_un") == std::string::npos)
            std::printf("  fp (%s) %s -> %s (%.3f)\n", file.find("congress") != std::string::npos ? "congress" : "synthetic", q.name.c_str(),
                        std::string(m[0].matched_name).c_str(), m[0].score);
        }
      }
      return std::pair<int, int>(hit, n);
    };
    auto [un_hit, un_n] = rate("yente_candidate_generation/positives_un_untreated.csv", 1 << 30);
    std::printf("UN-listed people (any match): %d/%d = %.4f (not every UN listing is on these "
                "US lists)\n", un_hit, un_n, double(un_hit) / un_n);
    // UN people with an entry on the loaded lists (tests/screening/un_on_us_lists.csv, paired
    // by DOB and name words by make_un_truth.py, not by this scorer): the expected entry must
    // be among the matches. Name only (as above), and with the UN birth year and nationality.
    {
      auto truth = ReadCsv(std::string(EARGATE_SOURCE_DIR) + "/tests/screening/un_on_us_lists.csv",
                           false);
      const double cuts[] = {0.80, 0.83, 0.86, 0.90};
      int on = 0, off = 0;
      int found_name[4] = {0, 0, 0, 0}, found_full[4] = {0, 0, 0, 0};
      int wrong_only = 0;  // name only at the threshold: matches, but not the expected entry
      std::map<std::string, std::pair<int, int>> by_method;  // method -> (rows, found at T)
      ScreenOptions wide = opt;
      wide.threshold = std::min(0.80, threshold);
      wide.limit = 100;
      for (size_t r = 1; r < truth.size(); ++r) {
        const auto& row = truth[r];
        if (row.size() < 6) continue;
        if (row[4].empty()) { ++off; continue; }
        ++on;
        std::vector<std::string> expected;
        for (const auto& key : eargate::core::Split(row[4], ';')) expected.emplace_back(key);
        auto best_of = [&](const ScreenQuery& q) {
          double best = -1;
          for (const auto& m : index->Screen(q, wide)) {
            const std::string key = m.entry->list + ":" + m.entry->source_id;
            if (std::find(expected.begin(), expected.end(), key) != expected.end())
              best = std::max(best, m.score);
          }
          return best;
        };
        ScreenQuery q;
        q.name = row[1];
        const double by_name = best_of(q);
        if (row[2].size() >= 4) q.birth_year = std::atoi(row[2].substr(0, 4).c_str());
        std::string cc = row[3];
        for (char& c : cc) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        q.country = eargate::core::Country::Parse(cc);
        const double full = best_of(q);
        for (int k = 0; k < 4; ++k) {
          found_name[k] += by_name >= cuts[k];
          found_full[k] += full >= cuts[k];
        }
        auto& bm = by_method[row[5]];
        ++bm.first;
        bm.second += by_name >= threshold;
        if (by_name < threshold) {
          ScreenQuery qn;
          qn.name = row[1];
          auto m = index->Screen(qn, opt);
          wrong_only += !m.empty();
          if (verbose) {
            std::printf("  un miss row %s (%s): %s | expected %s (best %.3f; %.3f with birth "
                        "year + nationality) | got %s\n",
                        row[0].c_str(), row[5].c_str(), row[1].c_str(), row[6].c_str(), by_name,
                        full,
                        m.empty() ? "nothing"
                                  : (std::string(m[0].matched_name) + " " + m[0].entry->list +
                                     ":" + m[0].entry->source_id)
                                        .c_str());
          }
        }
      }
      std::printf("UN people on the loaded lists (tests/screening/un_on_us_lists.csv): %d of %d; "
                  "%d have no entry on them\n", on, on + off, off);
      std::printf("  expected entry found, name only:        ");
      for (int k = 0; k < 4; ++k)
        std::printf(" %.2f: %d (%.4f)", cuts[k], found_name[k], on ? double(found_name[k]) / on : 0);
      std::printf("\n  ... with birth year + nationality:     ");
      for (int k = 0; k < 4; ++k)
        std::printf(" %.2f: %d (%.4f)", cuts[k], found_full[k], on ? double(found_full[k]) / on : 0);
      std::printf("\n  at %.2f by pairing method:", threshold);
      for (const auto& [method, v] : by_method)
        std::printf(" %s %d/%d", method.c_str(), v.second, v.first);
      std::printf("; misses with another entry matched instead: %d\n", wrong_only);
    }
    auto [c_hit, c_n] = rate("yente_candidate_generation/positives_us_congress_untreated.csv",
                             1 << 30);
    std::printf("US Congress names (not listed): %d/%d flagged = FP rate %.4f\n", c_hit, c_n,
                double(c_hit) / c_n);
    auto [n_hit, n_n] = rate("yente_candidate_generation/negatives_us.csv", 1 << 30);
    std::printf("synthetic negatives: %d/%d flagged = FP rate %.4f\n", n_hit, n_n,
                double(n_hit) / n_n);
    // The synthetic negatives written in Han characters (Chinese and Japanese names, given name
    // first, words spaced), as written and re-written the way CJK names are written: surname
    // first, no spaces ("利 王" -> "王利"). Not timed.
    {
      auto rows = ReadCsv(lab + "yente_candidate_generation/negatives_us.csv", false);
      auto han_only = [](const std::string& s) {
        icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
        bool any = false;
        for (int32_t i = 0; i < u.length();) {
          const UChar32 c = u.char32At(i);
          i += U16_LENGTH(c);
          if (c == ' ') continue;
          UErrorCode err = U_ZERO_ERROR;
          if (uscript_getScript(c, &err) != USCRIPT_HAN) return false;
          any = true;
        }
        return any;
      };
      int n = 0, as_written = 0, natural = 0;
      for (size_t r = 1; r < rows.size(); ++r) {
        if (rows[r].size() < 4 || !han_only(rows[r][0])) continue;
        ++n;
        ScreenQuery q;
        q.name = rows[r][0];
        as_written += !index->Screen(q, opt).empty();
        q.name = rows[r][3] + rows[r][1] + rows[r][2];
        auto m = index->Screen(q, opt);
        if (!m.empty()) {
          ++natural;
          if (verbose) {
            std::printf("  fp (han, surname first) %s -> %s (%.3f)\n", q.name.c_str(),
                        std::string(m[0].matched_name).c_str(), m[0].score);
          }
        }
      }
      std::printf("  of them in Han characters: %d; flagged as written %d, surname first without "
                  "spaces %d\n", n, as_written, natural);
    }
    auto [cd_hit, cd_n] =
        rate("yente_candidate_generation/positives_us_congress_untreated.csv", 1 << 30, true);
    auto [nd_hit, nd_n] = rate("yente_candidate_generation/negatives_us.csv", 1 << 30, true);
    std::printf("  with their birth year in the query: US Congress %d/%d = %.4f, synthetic "
                "%d/%d = %.4f\n", cd_hit, cd_n, double(cd_hit) / cd_n, nd_hit, nd_n,
                double(nd_hit) / nd_n);
    auto pairs = ReadCsv(lab + "watchman_cross_script_pairs.csv", true);
    int ok = 0, total = 0;
    for (const auto& p : pairs) {
      if (p.size() < 2 || p[0].empty()) continue;
      ++total;
      double s = index->ScoreNames(p[0], p[1]);
      ok += s >= threshold;
      if (verbose) std::printf("  %s ~ %s: %.3f\n", p[0].c_str(), p[1].c_str(), s);
    }
    std::printf("cross-script pairs at threshold: %d/%d\n", ok, total);
  }
  // 3. Latency over every query above; throughput on one thread.
  std::sort(g_latencies_us.begin(), g_latencies_us.end());
  double sum = 0;
  for (double v : g_latencies_us) sum += v;
  const size_t n = g_latencies_us.size();
  if (n > 0) {
    std::printf("latency over %zu queries: mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us; "
                "%.0f queries/s on one core\n",
                n, sum / n, g_latencies_us[n / 2], g_latencies_us[n * 99 / 100],
                g_latencies_us.back(), 1e6 * n / sum);
  }
  return 0;
}
