// The fingerprint of a listed entry: what a reviewer saw when clearing a screening hit on it.
// A "good guy" disposition (store::ScreeningDisposition) is honoured only while the entry's
// fingerprint is unchanged; when the publisher edits the entry (a new alias, address,
// country, program or date of birth, a changed name), the hit comes back for review.
//
// SHA-256 (lower-case hex) over the entry's list code, its id (source_id), primary name,
// aliases, addresses, countries, programs and dates of birth, each field tagged and
// length-prefixed (so no two different entries encode alike). Multi-valued fields are sorted
// first: the publisher reordering aliases is no change. Fields not listed (remarks such as
// license columns, the file position `origin`) do not count.
//
// Thread-safety: a pure function.
#pragma once

#include <string>

#include "eargate/screen/lists.h"

namespace eargate::screen {

std::string EntryFingerprint(const Entry& entry);

}  // namespace eargate::screen
