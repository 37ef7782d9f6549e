#include "eargate/wire/people_file.h"

#include "eargate/core/csv.h"
#include "eargate/core/strings.h"

namespace eargate::wire {

absl::StatusOr<std::unique_ptr<PeopleFile>> PeopleFile::Load(const std::string& path,
                                                             const rules::EarData& data) {
  auto text = core::ReadFile(path);
  if (!text.ok()) return text.status();
  return FromText(*text, path, data);
}

absl::StatusOr<std::unique_ptr<PeopleFile>> PeopleFile::FromText(std::string_view text,
                                                                const std::string& name,
                                                                const rules::EarData& data) {
  auto out = std::unique_ptr<PeopleFile>(new PeopleFile());
  RequestParser parser(data);
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = core::StripWhitespace(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    PersonRecord rec;
    RequestParser::PersonExtras extras;
    if (auto st = parser.ParsePerson(line, &rec.person, &extras); !st.ok())
      return absl::InvalidArgumentError(core::StrCat(name, ":", line_no, ": ", std::string(st.message())));
    rec.api_keys_sha256 = std::move(extras.api_keys_sha256);
    rec.traffic = extras.traffic;
    rec.uses = std::move(extras.uses);
    if (extras.has_location) rec.location = extras.location;
    size_t index = out->records_.size();
    if (!out->by_id_.emplace(rec.person.id, index).second)
      return absl::InvalidArgumentError(core::StrCat(name, ":", line_no, ": id: duplicate person '", rec.person.id, "'"));
    for (const auto& k : rec.api_keys_sha256) {
      if (!out->by_key_.emplace(k, index).second)
        return absl::InvalidArgumentError(core::StrCat(name, ":", line_no, ": api_key_sha256: key already belongs to another person"));
    }
    out->records_.push_back(std::move(rec));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<PeopleFile>> PeopleFile::FromRecords(std::vector<PersonRecord> records) {
  auto out = std::unique_ptr<PeopleFile>(new PeopleFile());
  out->records_ = std::move(records);
  for (size_t i = 0; i < out->records_.size(); ++i) {
    const PersonRecord& rec = out->records_[i];
    if (!out->by_id_.emplace(rec.person.id, i).second)
      return absl::InvalidArgumentError(core::StrCat("id: duplicate person '", rec.person.id, "'"));
    for (const auto& k : rec.api_keys_sha256)
      if (!out->by_key_.emplace(k, i).second)
        return absl::InvalidArgumentError(core::StrCat("api_key_sha256: key of '", rec.person.id, "' already belongs to another person"));
  }
  return out;
}

const PersonRecord* PeopleFile::FindRecord(std::string_view id) const {
  auto it = by_id_.find(absl::string_view(id.data(), id.size()));
  return it == by_id_.end() ? nullptr : &records_[it->second];
}

bool PeopleFile::Find(std::string_view id, core::Person* out) const {
  const PersonRecord* r = FindRecord(id);
  if (!r) return false;
  *out = r->person;
  return true;
}

const PersonRecord* PeopleFile::FindByKeyHash(std::string_view sha256_hex) const {
  auto it = by_key_.find(absl::string_view(sha256_hex.data(), sha256_hex.size()));
  return it == by_key_.end() ? nullptr : &records_[it->second];
}

}  // namespace eargate::wire
