// Decision -> SPEC.md §2 response JSON, plus the one-line reason used in headers and 451 bodies.
#pragma once

#include <string>
#include <string_view>

#include "eargate/core/request.h"
#include "eargate/decide/decision.h"
#include "eargate/rules/policy.h"

namespace eargate::wire {

// Appends the decision JSON object (no trailing newline) to *out.
void AppendDecisionJson(const rules::PolicySnapshot& policy, const core::Request& request,
                        const decide::Decision& decision, std::string_view decision_id,
                        std::string* out);

// The decision-log record of a decision (doc/audit_log_format.md): the decision JSON plus where
// the request came from ("location": country, ip, anonymizer) and which interface decided it
// ("endpoint": "gateway", "cli", ...). No trailing newline.
void AppendDecisionRecord(const rules::PolicySnapshot& policy, const core::Request& request,
                          const decide::Decision& decision, std::string_view decision_id,
                          std::string_view endpoint, std::string* out);

// Appends just the "findings" array / the "missing_facts" array of the decision JSON.
void AppendFindingsJson(const rules::PolicySnapshot& policy, const core::Request& request,
                        const decide::Decision& decision, std::string* out);
void AppendMissingFactsJson(const decide::Decision& decision, std::string* out);

// A one-line human reason: "US-person status unverified", "license required: notice
// bis-2026-06-12 covers mythos-5 application access exported to DE", or "allowed".
std::string DecisionReason(const rules::PolicySnapshot& policy, const core::Request& request,
                           const decide::Decision& decision);

// The text of one finding (as in the JSON "text" field).
std::string FindingText(const rules::PolicySnapshot& policy, const core::Request& request,
                        const decide::Decision& decision, const decide::Finding& finding);

// A new decision id: a UUID version 7 (RFC 9562) whose time is the decision's, `at` (its
// milliseconds from the system clock), the rest random: ids sort by time, and a search by
// id reads only the log segments of that second (doc/audit_log_format.md §7). Thread-safe.
std::string NewDecisionId(core::Timestamp at);

}  // namespace eargate::wire
