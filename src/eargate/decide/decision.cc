#include "eargate/decide/decision.h"

#include <array>

namespace eargate::decide {

std::string_view Name(Fact f) {
  static constexpr std::array<std::string_view, kFactCount> kNames = {
      "item", "us_person", "nationality", "location", "served_from", "screening", "destination"};
  return kNames[static_cast<int>(f)];
}

std::string_view Name(Doubt d) {
  static constexpr std::array<std::string_view, 5> kNames = {"unknown", "anonymizer", "mismatch",
                                                             "potential_match", "unmapped"};
  return kNames[static_cast<int>(d)];
}

void Decision::clear() {
  outcome = core::Outcome::kDeny;
  item = -1;
  at = 0;
  served_from = core::Country();
  is_export_reading = false;
  activities.clear();
  findings.clear();
  uncertain.clear();
  missing_facts = 0;
}

std::string_view ActivityCite(core::Activity a) {
  switch (a) {
    case core::Activity::kExport: return "15 CFR 734.13(a)(1)";
    case core::Activity::kReexport: return "15 CFR 734.14(a)(1)";
    case core::Activity::kInCountryTransfer: return "15 CFR 734.16";
    case core::Activity::kDeemedExport: return "15 CFR 734.13(a)(2), (b)";
    case core::Activity::kDeemedReexport: return "15 CFR 734.14(a)(2), (b)";
  }
  return "";
}

}  // namespace eargate::decide
