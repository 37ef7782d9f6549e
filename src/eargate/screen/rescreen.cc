#include "eargate/screen/rescreen.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "eargate/core/json.h"
#include "eargate/core/thread.h"
#include "eargate/screen/report.h"

namespace eargate::screen {

namespace {


void ScreenRange(const Index& index, const std::vector<Party>& parties, const HitBands& bands,
                 size_t begin, size_t end, std::vector<PartyHit>* out) {
  ScreenOptions options;
  options.threshold = bands.potential;
  for (size_t i = begin; i < end; ++i) {
    const Party& p = parties[i];
    if (p.name.empty()) continue;
    ScreenQuery q;
    q.name = p.name;
    q.type = p.type;
    q.country = p.country;
    for (const Match& m : index.Screen(q, options)) out->push_back(ToPartyHit(p.id, m, bands));
  }
}

using HitKey = std::tuple<std::string_view, std::string_view, std::string_view>;
HitKey KeyOf(const PartyHit& h) { return {h.party_id, h.list, h.entry_id}; }

}  // namespace

PartyHit ToPartyHit(std::string_view party_id, const Match& m, const HitBands& bands) {
  PartyHit h;
  h.party_id = party_id;
  h.list = m.entry->list;
  h.restricted_list = m.entry->restricted_list;
  h.entry_id = m.entry->source_id;
  h.listed_name = std::string(m.matched_name);
  h.score = m.score;
  h.confirmed = m.score >= bands.confirmed;
  return h;
}

std::string_view BandName(bool confirmed) { return confirmed ? "confirmed" : "potential"; }

std::vector<PartyHit> ScreenParties(const Index& index, const std::vector<Party>& parties,
                                    const HitBands& bands, int threads) {
  std::vector<PartyHit> out;
  size_t n = parties.size();
  size_t workers = std::clamp<size_t>(threads < 1 ? 1 : static_cast<size_t>(threads), 1,
                                      std::max<size_t>(1, n / 256));
  if (workers <= 1) {
    ScreenRange(index, parties, bands, 0, n, &out);
    return out;
  }
  std::vector<std::vector<PartyHit>> parts(workers);
  std::vector<std::thread> pool;
  for (size_t w = 0; w < workers; ++w) {
    pool.emplace_back([&, w] {
      core::SetThreadName("eg-rescreen");
      ScreenRange(index, parties, bands, n * w / workers, n * (w + 1) / workers, &parts[w]);
    });
  }
  for (auto& t : pool) t.join();
  for (auto& part : parts) {
    for (auto& h : part) out.push_back(std::move(h));
  }
  return out;
}

core::ScreeningHit ToScreeningHit(const PartyHit& hit) {
  core::ScreeningHit h;
  h.list = hit.restricted_list;
  h.confirmed = hit.confirmed;
  h.entry_id = hit.entry_id;
  h.name = hit.listed_name;
  h.score = static_cast<float>(hit.score);
  return h;
}

std::string_view Name(HitChange c) {
  switch (c) {
    case HitChange::kNew: return "new";
    case HitChange::kUnchanged: return "unchanged";
    case HitChange::kBandChanged: return "band_changed";
    case HitChange::kRemoved: return "removed";
  }
  return "unknown";
}

std::vector<HitDiff> DiffHits(const std::vector<PartyHit>& before, const std::vector<PartyHit>& after) {
  absl::flat_hash_map<HitKey, const PartyHit*> old;
  old.reserve(before.size());
  for (const PartyHit& h : before) old.emplace(KeyOf(h), &h);
  absl::flat_hash_map<HitKey, bool> seen;
  std::vector<HitDiff> out;
  out.reserve(after.size());
  for (const PartyHit& h : after) {
    HitDiff d;
    d.hit = h;
    auto it = old.find(KeyOf(h));
    if (it == old.end()) {
      d.change = HitChange::kNew;
    } else {
      d.previous_score = it->second->score;
      d.previous_confirmed = it->second->confirmed;
      d.change = it->second->confirmed == h.confirmed ? HitChange::kUnchanged : HitChange::kBandChanged;
      seen.emplace(it->first, true);
    }
    out.push_back(std::move(d));
  }
  for (const PartyHit& h : before) {
    if (seen.contains(KeyOf(h))) continue;
    HitDiff d;
    d.change = HitChange::kRemoved;
    d.hit = h;
    out.push_back(std::move(d));
  }
  return out;
}

std::string HitDiffJson(const HitDiff& d) {
  std::string out = "{\"change\": ";
  core::AppendJsonString(Name(d.change), &out);
  out += ", \"party\": ";
  core::AppendJsonString(d.hit.party_id, &out);
  out += ", \"list\": ";
  core::AppendJsonString(d.hit.list, &out);
  out += ", \"entry_id\": ";
  core::AppendJsonString(d.hit.entry_id, &out);
  out += ", \"listed_name\": ";
  core::AppendJsonString(d.hit.listed_name, &out);
  out += ", \"score\": ";
  out += FormatScore(d.hit.score);
  out += ", \"band\": ";
  core::AppendJsonString(BandName(d.hit.confirmed), &out);
  if (d.previous_score) {
    out += ", \"previous_score\": ";
    out += FormatScore(*d.previous_score);
    out += ", \"previous_band\": ";
    core::AppendJsonString(BandName(d.previous_confirmed), &out);
  }
  out += "}";
  return out;
}

}  // namespace eargate::screen
