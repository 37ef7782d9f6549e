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
  // the person's own (api_key_sha256, api_keys_sha256, location, traffic, uses) are returned via
  // the optional out-params and otherwise rejected as unknown.
  // One way a person uses the service: an item on a channel at a layer, with its volume.
  // "uses": [{"item": "mythos-5", "channel": "api", "layer": "application", "traffic": 120}]
  // (channel/layer default to api/application, traffic to 1). Impact analysis decides the
  // items and channels a person uses instead of every item.
  struct Use {
    std::string item;
    core::Layer layer = core::Layer::kApplication;
    core::Channel channel = core::Channel::kApi;
    double traffic = 1;
    bool operator==(const Use&) const = default;
  };
  struct PersonExtras {
    std::vector<std::string> api_keys_sha256;
    core::Location location;
    bool has_location = false;
    double traffic = 1;  // relative request volume (impact and scenario reports weight by it)
    std::vector<Use> uses;
    // Provenance of the KYC facts (the registry keeps it; deciding does not need it):
    // "source"/"verified_at" on each citizenship and residency object (parallel to the
    // person's lists; empty when no entry has one), and {"source", "verified_at"} objects
    // under "kyc" (the default for every fact), "us_person_source",
    // "end_user_categories_source", "end_uses_source".
    core::FactSource kyc, us_person_source, categories_source, end_uses_source;
    std::vector<core::FactSource> citizenship_sources, residency_sources;
  };
  absl::Status ParsePerson(std::string_view json, core::Person* out, PersonExtras* extras);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eargate::wire
