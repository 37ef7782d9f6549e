// SPEC.md §2 request JSON -> core::Request, with errors that name the field.
//
// Unknown fields are errors (a typo must not silently change a decision). Country codes must
// be known to the reference data. Errors read like:
//   person.citizenships[0].country: unknown country 'XX'
//   layer: must be one of weights, application, outputs, infrastructure (got 'weight')
//
// A RequestParser owns a simdjson parser and reuses its buffers: one per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "eargate/core/request.h"
#include "eargate/core/time.h"
#include "eargate/rules/ear_data.h"

namespace eargate::wire {

// Looks up a registered person by id (a person given by `id` alone, SPEC §2). Implemented by
// the people file and the store. Must be thread-safe for concurrent Find calls.
class PersonLookup {
 public:
  virtual ~PersonLookup() = default;
  // Fills *out and returns true when found.
  virtual bool Find(std::string_view id, core::Person* out) const = 0;
};

class RequestParser {
 public:
  explicit RequestParser(const rules::EarData& data, const PersonLookup* people = nullptr);
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses one JSON object. `now` fills an absent `at`. On error *out is unspecified.
  absl::Status Parse(std::string_view json, core::Timestamp now, core::Request* out);

  // Parses a person object alone (the people file's line format, SPEC §3); fields other than
  // the person's own (api_key_sha256, api_keys_sha256, location, traffic) are returned via the
  // optional out-params and otherwise rejected as unknown.
  struct PersonExtras {
    std::vector<std::string> api_keys_sha256;
    core::Location location;
    bool has_location = false;
    double traffic = 1;  // relative request volume (impact and scenario reports weight by it)
  };
  absl::Status ParsePerson(std::string_view json, core::Person* out, PersonExtras* extras);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eargate::wire
