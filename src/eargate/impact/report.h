// Writers for impact and scenario reports: JSON (SPEC §3 shape), text, and a self-contained
// HTML page with SVG charts that a compliance officer can open in a browser.
#pragma once

#include <string>

#include "eargate/impact/impact.h"
#include "eargate/impact/scenarios.h"

namespace eargate::impact {

void WriteImpactJson(const ImpactReport& r, std::string* out);
void WriteImpactText(const ImpactReport& r, const std::string& before_path, const std::string& after_path,
                     std::string* out);
void WriteImpactHtml(const ImpactReport& r, const std::string& before_path, const std::string& after_path,
                     std::string* out);

void WriteScenariosText(const ScenarioMatrix& m, std::string* out);
void WriteScenariosCsv(const ScenarioMatrix& m, std::string* out);
void WriteScenariosHtml(const ScenarioMatrix& m, std::string* out);

// Escapes text for HTML element content and attribute values.
std::string HtmlEscape(std::string_view s);

}  // namespace eargate::impact
