// Restricted-party list ingestion: OFAC legacy CSV (sdn.csv, alt.csv, add.csv,
// sdn_comments.csv and their cons_* twins), the ITA Consolidated Screening List (CSV and JSON),
// and the BIS Denied Persons List (dpl.txt). The format of each file is recognised from its
// content (the file name only tells OFAC's SDN files from its non-SDN cons_* files).
//
// Usage:
//   ListSetBuilder builder;
//   EG_RETURN_IF_ERROR(builder.AddFile("sdn.csv"));
//   EG_RETURN_IF_ERROR(builder.AddFile("alt.csv"));
//   ListSet lists = std::move(builder).Finish();   // aliases/addresses joined by ent_num
//
// Errors name "file:line: problem". Loading parses only what the caller gives; nothing is
// ever downloaded.
//
// Thread-safety: a ListSetBuilder is single-threaded; a finished ListSet is plain data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eargate/core/country.h"
#include "eargate/core/types.h"

namespace eargate::screen {

enum class EntityType : uint8_t { kUnknown, kPerson, kOrganization, kVessel, kAircraft };
// "person", "organization", "vessel", "aircraft" ("unknown" for kUnknown).
std::string_view Name(EntityType t);
// Accepts the names above plus "individual" and "entity".
std::optional<EntityType> ParseEntityType(std::string_view s);

// One listed party, as published.
struct Entry {
  std::string list;                  // short code: us_ofac_sdn, us_bis_el, us_bis_dpl, ...
  core::RestrictedList restricted_list = core::RestrictedList::kOther;
  std::string source;                // the publishing list's own name, e.g. "Entity List (EL)"
  std::string source_id;             // OFAC ent_num; CSL entity_number or _id; DPL: row hash
  EntityType type = EntityType::kUnknown;
  std::string name;                  // primary name as published
  std::vector<std::string> aliases;  // a.k.a./f.k.a./n.k.a. names
  std::vector<std::string> addresses;
  std::vector<core::Country> countries;  // from addresses, citizenships, nationalities
  std::vector<std::string> programs;
  std::vector<std::string> dates_of_birth;  // as published ("12 Mar 1961", "1958", ...)
  std::vector<int> birth_years;             // years found in dates_of_birth
  std::string license_requirement;          // CSL columns (Entity List rows carry them)
  std::string license_policy;
  std::string federal_register_notice;
  std::string origin;                       // "file:line" of the primary row
};

// The citation that makes a hit on `list` bind (DOMAIN §4 source 4); "" for kOther.
std::string_view Citation(core::RestrictedList list);

enum class FileFormat : uint8_t {
  kOfacPrimary,   // sdn.csv, cons_prim.csv: 12 columns, no header
  kOfacAlt,       // alt.csv, cons_alt.csv: 5 columns
  kOfacAddress,   // add.csv, cons_add.csv: 6 columns
  kOfacComments,  // sdn_comments.csv, cons_comments.csv: 2 columns
  kCslCsv,        // consolidated.csv: header starting "_id,source,entity_number"
  kCslJson,       // consolidated.json: {"results": [...]} or an array of the same objects
  kBisDpl,        // dpl.txt: tab-separated, header "Name"\t"Street_Address"...
};
std::string_view Name(FileFormat f);

// Recognises the format from the first bytes of `content`. `path` is used only in messages.
absl::StatusOr<FileFormat> DetectFormat(std::string_view content, std::string_view path);

// What loading one file did.
struct FileReport {
  std::string path;
  FileFormat format = FileFormat::kOfacPrimary;
  int rows = 0;                       // data rows read
  std::vector<std::string> warnings;  // "file:line: ..." (skipped rows, truncation)
};

struct ListSet {
  std::vector<Entry> entries;
  std::vector<FileReport> files;
  int orphan_aliases = 0;    // OFAC alt rows whose ent_num is in no loaded primary file
  int orphan_addresses = 0;  // the same for add rows
};

class ListSetBuilder {
 public:
  ListSetBuilder() = default;
  ListSetBuilder(const ListSetBuilder&) = delete;
  ListSetBuilder& operator=(const ListSetBuilder&) = delete;
  ListSetBuilder(ListSetBuilder&&) = default;
  ListSetBuilder& operator=(ListSetBuilder&&) = default;

  // Reads, recognises and parses one file. On error nothing of the file is kept.
  absl::Status AddFile(const std::string& path);
  // The same for text already in memory; `name` stands for the path in messages and decides
  // OFAC SDN vs non-SDN (a base name starting "cons_" is the non-SDN list).
  absl::Status AddText(std::string_view text, const std::string& name);
  // Every list file under `dir` (recursively; *.csv, *.txt, *.json; PROVENANCE/SHA256SUMS and
  // README files skipped), in path order.
  absl::Status AddDirectory(const std::string& dir);

  // Joins OFAC aliases, addresses and remarks overflow to their primary rows by ent_num.
  ListSet Finish() &&;

 private:
  struct OfacAux {
    std::string family;  // "sdn" or "cons"
    std::string ent_num;
    FileFormat kind;
    std::vector<std::string> values;  // alt: name; add: address parts...; comments: text
  };
  std::vector<Entry> entries_;
  std::vector<std::string> entry_family_;  // parallel to entries_: "sdn"/"cons"/"" (non-OFAC)
  std::vector<OfacAux> aux_;
  std::vector<FileReport> files_;
};

// Maps a country name or ISO code as written in list files ("Russia", "Korea, North", "CN")
// to a Country; nullopt when unknown.
std::optional<core::Country> CountryFromListText(std::string_view text);

}  // namespace eargate::screen
