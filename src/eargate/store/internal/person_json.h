// JSON of a location and of a person line (SPEC §2/§3) for the store and people_io.
// Private to eargate_store.
#pragma once

#include <string>
#include <string_view>

#include "eargate/core/json.h"
#include "eargate/core/request.h"

namespace eargate::store {
struct PersonRecord;
}

namespace eargate::store::internal {

using core::AppendJsonString;  // RFC 8259 string literal (core/json.h)
void AppendLocationJson(const core::Location& loc, std::string* out);
// False with *error set ("country: unknown country 'xx'") when the text is no location object.
bool ParseLocationJson(std::string_view json, core::Location* out, std::string* error);

}  // namespace eargate::store::internal
