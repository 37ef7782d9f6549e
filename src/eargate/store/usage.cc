#include "eargate/store/usage.h"

#include <tuple>

#include "eargate/store/log_reader.h"
#include "simdjson.h"

namespace eargate::store {

absl::StatusOr<Usage> ReadUsage(const std::string& dir, std::optional<core::Timestamp> from,
                                std::optional<core::Timestamp> to) {
  RecordFilter filter;
  filter.from = from;
  filter.to = to;
  filter.kind = RecordKind::kDecision;
  using Key = std::tuple<std::string, std::string, uint8_t, uint8_t>;  // person, item, channel, layer
  std::map<Key, uint64_t> counts;
  Usage usage;
  simdjson::dom::parser parser;
  absl::Status st = ScanLog(dir, filter, [&](const LogRecord& r) {
    if (r.person_id.empty() || r.item.empty()) return true;
    ++usage.records;
    core::Layer layer = core::Layer::kApplication;
    core::Channel channel = core::Channel::kApi;
    simdjson::dom::element doc;
    if (!parser.parse(r.payload.data(), r.payload.size()).get(doc)) {
      std::string_view s;
      if (!doc["layer"].get_string().get(s))
        if (auto l = core::ParseLayer(s)) layer = *l;
      if (!doc["channel"].get_string().get(s))
        if (auto c = core::ParseChannel(s)) channel = *c;
    }
    ++counts[Key(std::string(r.person_id), std::string(r.item), static_cast<uint8_t>(channel),
                 static_cast<uint8_t>(layer))];
    return true;
  });
  if (!st.ok()) return st;
  for (const auto& [key, n] : counts) {
    UsageEntry e;
    e.item = std::get<1>(key);
    e.channel = static_cast<core::Channel>(std::get<2>(key));
    e.layer = static_cast<core::Layer>(std::get<3>(key));
    e.decisions = n;
    usage.by_person[std::get<0>(key)].push_back(std::move(e));
  }
  return usage;
}

}  // namespace eargate::store
