#!/usr/bin/env python3
"""Which UN-listed people (yente's positives_un_untreated.csv) have an entry on the loaded US lists.

    python3 make_un_truth.py ../shared/data/screening un_on_us_lists.csv

Independent of eargate's scorer: it reads the list files itself and pairs a UN row with a listed
entry by date of birth and shared name words, never by a fuzzy name score. Deterministic (no
randomness; rows and candidates in file order).

Loaded lists (the set bench/screen_accuracy loads): OFAC SDN 2024-05-03 sdn.csv with the
2025-12 alt.csv aliases, sdn_comments.csv remarks and add.csv countries of the ent_nums it holds;
the ITA CSL 2023-11 (every source); the BIS DPL 2023-11. The files carry no UN reference
numbers (no "QDi.", "UN Ref" or "United Nations" in any remark; checked), so the pairing rests on:

  * DOB: SDN remarks "DOB ..." / "alt. DOB ..." (dd Mon yyyy, Mon yyyy, yyyy, circa yyyy, ranges
    "X to Y"), CSL `dates_of_birth` (yyyy-mm-dd, yyyy, circa yyyy; `; `-separated);
  * name words: NFKD-folded, lower case, split on anything not a letter or digit; particles and
    titles (al, bin, abu, abd, mullah, haji, ...) and words of 1-2 letters do not count;
    Muhammad/Mohammed/..., Ahmed/Ahmad, Abdullah/Abdallah are one word; an entry's words are those of its
    primary name and every alias (alt.csv, remarks "a.k.a. '...'", CSL alt_names);
  * country: the UN nationality (ISO code) named in the entry's remarks, addresses, POB,
    citizenships or nationalities.

Rules, first that applies (an entry whose DOBs all contradict the UN DOB is never paired):
  dob_date   the UN full date equals one of the entry's full dates, and >= 1 shared name word
             (exact, or near: a UN word of 5+ letters and an entry word with the same first
             letter and difflib ratio >= 0.75, "nzambamwita" / "nzabamwita");
  dob_year   the UN year (or the year of its full date) is one of the entry's years or inside
             one of its ranges (circa: +-1; two different full dates agree only in the same
             month and with two uncommon shared words covering 2/3 of the UN name), and >= 2
             shared (exact or near) name words covering at least half the UN name's words, one
             of them exact and not common (in < 100 loaded individuals' names: "muhammad",
             "ali", "ahmad", "abdallah", "ibrahim", "hassan" are common), and two not common or
             every UN name word (2+, short words included) shared ("MUHAMMAD AZAM ELMI" is not "'AZZAM, Khalil Muhammad");
  name_only  the UN row or the entry has no DOB, every UN name word (2+ of them, short words
             included) is among the entry's words, and the country agrees when both sides give one.
Only the strongest rule that pairs anything counts, and of its pairings those sharing the most
name words, then the most exact ones (several when tied: OFAC lists some people twice, under two ent_nums).
Output, one row per UN row: un_row (1-based data row), un_name, un_dob, un_nationality,
expected (list:id;... all paired entries; empty: none on the loaded lists), method, evidence.
"""
import csv
import hashlib
import json
import re
import sys
import unicodedata
from collections import Counter
from difflib import SequenceMatcher

MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}

PARTICLES = {
    "al", "el", "ul", "ud", "ad", "ar", "as", "at", "az", "an", "ash", "bin", "ibn", "bint", "ben",
    "abu", "abou", "abd", "abdul", "abdel", "abdal", "b", "bn", "de", "da", "di", "du", "la", "le",
    "y", "van", "der", "mullah", "mulla", "mullo", "haji", "hajji", "alhaj", "maulavi", "mawlawi",
    "maulvi", "moulvi", "qari", "sheikh", "shaykh", "shaikh", "sheik", "dr", "mr", "mrs", "gen",
    "general", "colonel", "col", "maj", "major", "brigadier", "lt", "ii", "iii", "jr", "sr",
}

# UN nationality code -> words naming the country in the lists (OFAC and CSL spellings).
COUNTRY_WORDS = {
    "af": ["afghanistan"], "ba": ["bosnia"], "cd": ["congo, democratic", "democratic republic of the congo", "drc"],
    "cf": ["central african"], "cn": ["china"], "dz": ["algeria"], "eg": ["egypt"],
    "er": ["eritrea"], "et": ["ethiopia"], "fr": ["france"], "gb": ["united kingdom"],
    "ge": ["georgia"], "gw": ["guinea-bissau", "guinea bissau"], "ht": ["haiti"],
    "id": ["indonesia"], "in": ["india"], "iq": ["iraq"], "jo": ["jordan"], "ke": ["kenya"],
    "kp": ["korea, north", "north korea", "democratic people's republic of korea"],
    "kw": ["kuwait"], "ly": ["libya"], "ma": ["morocco"], "ml": ["mali"], "mr": ["mauritania"],
    "my": ["malaysia"], "na": ["namibia"], "ng": ["nigeria"], "no": ["norway"],
    "ph": ["philippines"], "pk": ["pakistan"], "ps": ["palestin", "west bank", "gaza"],
    "qa": ["qatar"], "ru": ["russia"], "rw": ["rwanda"], "sa": ["saudi arabia"],
    "sd": ["sudan"], "sn": ["senegal"], "so": ["somalia"], "ss": ["south sudan"],
    "sy": ["syria"], "td": ["chad"], "tj": ["tajikistan"], "tn": ["tunisia"],
    "tr": ["turkey", "turkiye"], "tt": ["trinidad"], "tz": ["tanzania"], "ug": ["uganda"],
    "us": ["united states"], "ye": ["yemen"],
}

CSL_SOURCES = [("(EL)", "us_bis_el"), ("(DPL)", "us_bis_dpl"), ("(UVL)", "us_bis_uvl"),
               ("(MEU)", "us_bis_meu"), ("(SDN)", "us_ofac_sdn"), ("(SSI)", "us_ofac_ssi"),
               ("(FSE)", "us_ofac_fse"), ("(PLC)", "us_ofac_plc"), ("(NS-PLC)", "us_ofac_plc"),
               ("(CMIC)", "us_ofac_cmic"), ("(NS-MBS", "us_ofac_mbs"), ("(CAP", "us_ofac_capta"),
               ("(ISN)", "us_state_isn"), ("(DTC)", "us_state_dtc")]


def fold(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    return [t for t in re.split(r"[^a-z0-9]+", s.replace("'", "").replace("`", "")) if t]


COMMON = 100  # a name word in this many loaded individuals' names or more is common
VARIANTS = {"mohammad": "muhammad", "mohammed": "muhammad", "muhammed": "muhammad",
            "mohamed": "muhammad", "mohamad": "muhammad", "muhamad": "muhammad",
            "mohd": "muhammad", "ahmed": "ahmad", "abdullah": "abdallah"}


def near_words(missing, have):
    """UN name words (5+ letters) without an exact partner that have a near spelling among the
    entry's words: same first letter, difflib ratio >= 0.75 ("nzambamwita" / "nzabamwita")."""
    out = []
    for w in sorted(missing):
        if len(w) < 5:
            continue
        for h in have:
            if len(h) >= 5 and h[0] == w[0] and SequenceMatcher(None, w, h).ratio() >= 0.75:
                out.append(w)
                break
    return out


def words(names, min_len=3):
    out = set()
    for n in names:
        out.update(VARIANTS.get(t, t) for t in fold(n) if t not in PARTICLES and len(t) >= min_len)
    return out


class Dob:
    """One date of birth: a full date (y, m, d), a month (y, m), a year, or a year range."""

    def __init__(self, lo, hi, date=None):
        self.lo, self.hi, self.date = lo, hi, date

    def __repr__(self):
        return self.date and "%04d-%02d-%02d" % self.date or "%d-%d" % (self.lo, self.hi)


def parse_ofac_date(s):
    s = s.strip().rstrip(".").strip()
    circa = s.lower().startswith("circa ")
    if circa:
        s = s[6:].strip()
    m = re.fullmatch(r"(\d{1,2}) ([A-Za-z]{3})[a-z]* (\d{4})", s)
    if m and m.group(2).lower() in MONTHS:
        y = int(m.group(3))
        return Dob(y, y, (y, MONTHS[m.group(2).lower()], int(m.group(1))))
    m = re.fullmatch(r"(?:[A-Za-z]{3}[a-z]* )?(\d{4})", s)
    if m:
        y = int(m.group(1))
        return Dob(y - circa, y + circa)
    return None


def parse_ofac_dobs(remarks):
    out = []
    for m in re.finditer(r"\bDOB ([^;]+)", remarks):
        text = m.group(1)
        if " to " in text:
            a, b = text.split(" to ", 1)
            da, db = parse_ofac_date(a), parse_ofac_date(b)
            if da and db:
                out.append(Dob(da.lo, db.hi))
            continue
        d = parse_ofac_date(text)
        if d:
            out.append(d)
    return out


def parse_iso_dob(s):
    s = s.strip()
    circa = s.lower().startswith("circa ")
    if circa:
        s = s[6:].strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", s)
    if m:
        y = int(m.group(1))
        return Dob(y, y, (y, int(m.group(2)), int(m.group(3))))
    m = re.fullmatch(r"(\d{4})(?:-(\d{2}))?", s)
    if m:
        y = int(m.group(1))
        return Dob(y - circa, y + circa)
    m = re.fullmatch(r"(\d{4}) to (\d{4})", s)
    if m:
        return Dob(int(m.group(1)), int(m.group(2)))
    return None


def ofac_rows(path):
    with open(path, newline="", encoding="latin-1") as f:
        text = f.read().replace("\x1a", "")
    for row in csv.reader(text.splitlines()):
        if not row:
            continue
        yield [("" if v.strip() == "-0-" else v.strip()) for v in row]


def load_lists(shared):
    entries = []  # dicts: list, id, type, names, dobs, place (lower-case text), iso (set)
    by_ent = {}
    for r in ofac_rows(shared + "/ofac_sdn_2024-05-03/sdn.csv"):
        e = {"list": "us_ofac_sdn", "id": r[0], "type": r[2] or "entity", "names": [r[1]],
             "remarks": r[11] if len(r) > 11 else "", "place": "", "iso": set()}
        entries.append(e)
        by_ent[r[0]] = e
    for r in ofac_rows(shared + "/ofac_sdn_aux_2025-12/sdn_comments.csv"):
        if r and r[0] in by_ent:
            by_ent[r[0]]["remarks"] += r[1]
    for r in ofac_rows(shared + "/ofac_sdn_aux_2025-12/alt.csv"):
        if len(r) > 3 and r[0] in by_ent and r[3]:
            by_ent[r[0]]["names"].append(r[3])
    for r in ofac_rows(shared + "/ofac_sdn_aux_2025-12/add.csv"):
        if len(r) > 4 and r[0] in by_ent:
            by_ent[r[0]]["place"] += " | " + ", ".join(r[2:5]).lower()
    for e in entries:
        e["names"] += re.findall(r"a\.k\.a\. '([^']+)'", e["remarks"])
        e["dobs"] = parse_ofac_dobs(e["remarks"])
        e["place"] += " | " + e["remarks"].lower()
        del e["remarks"]
    with open(shared + "/us_csl_2023-11/csl.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    for line, r in enumerate(rows[1:], start=2):
        if r == header or len(r) != len(header):
            continue
        d = dict(zip(header, r))
        lst = next((code for key, code in CSL_SOURCES if key in d["source"]), "us_csl_other")
        dobs = [x for x in (parse_iso_dob(s) for s in d["dates_of_birth"].split(";") if s.strip()) if x]
        entries.append({
            "list": lst, "id": d["entity_number"] or d["_id"], "type": (d["type"] or "").lower(),
            "names": [d["name"]] + [a.strip() for a in d["alt_names"].split(";") if a.strip()],
            "dobs": dobs,
            "place": " | ".join(d[k] for k in ("addresses", "places_of_birth", "remarks")).lower(),
            "iso": {c.strip().lower() for k in ("citizenships", "nationalities")
                    for c in d[k].split(";") if c.strip()}})
    with open(shared + "/bis_dpl_2023-11/dpl.txt", newline="", encoding="utf-8") as f:
        dpl = list(csv.reader(f, delimiter="\t"))
    h = [x.strip() for x in dpl[0]]
    for r in dpl[1:]:
        if len(r) != len(h):
            continue
        d = {k: v.strip() for k, v in zip(h, r)}
        key = "%s\t%s\t%s" % (d["Name"], d["Street_Address"], d["Effective_Date"])
        entries.append({"list": "us_bis_dpl", "id": "dpl-" + hashlib.sha256(key.encode()).hexdigest()[:12],
                        "type": "", "names": [d["Name"]], "dobs": [],
                        "place": " | ".join(d[k] for k in ("City", "State", "Country")).lower(),
                        "iso": set()})
    for e in entries:
        e["words"] = words(e["names"])
        e["all_words"] = words(e["names"], 1)
    return entries


def country_agrees(code, e):
    if code in e["iso"]:
        return True
    return any(w in e["place"] for w in COUNTRY_WORDS.get(code, []))


def main():
    shared, out_path = sys.argv[1], sys.argv[2]
    entries = load_lists(shared)
    people = [e for e in entries if e["type"] in ("individual", "") or e["dobs"]]
    df = Counter()
    for e in people:
        if e["type"] == "individual":
            df.update(e["words"])
    by_word = {}
    for i, e in enumerate(people):
        for w in e["words"]:
            by_word.setdefault(w, []).append(i)
    un_path = shared + "/labelled/yente_candidate_generation/positives_un_untreated.csv"
    with open(un_path, newline="", encoding="utf-8") as f:
        un = list(csv.DictReader(f))
    out = []
    stats = Counter()
    for n, row in enumerate(un, start=1):
        uw = words([row["full_name"]])
        uw_all = words([row["full_name"]], 1)
        dob = parse_iso_dob(row["date_of_birth"]) if row["date_of_birth"] else None
        code = row["nationality"].strip().lower()
        cands = sorted({i for w in uw for i in by_word.get(w, [])})
        hits = []
        for i in cands:
            e = people[i]
            shared_w = sorted(uw & e["words"])
            method = None
            near = near_words(uw - e["words"], e["words"])
            strong = [w for w in shared_w if df[w] < COMMON]
            if dob and e["dobs"]:
                if dob.date and any(d.date == dob.date for d in e["dobs"]):
                    if shared_w or near:
                        method = "dob_date"
                else:
                    n_sh = len(shared_w) + len(near)
                    n_rare = len(strong) + sum(df[w] < COMMON for w in near)
                    year = [d for d in e["dobs"] if d.lo <= dob.lo and dob.hi <= d.hi and not (
                        d.date and dob.date and d.date[1] != dob.date[1])]
                    if year and strong and 2 * n_sh >= len(uw) and (
                            n_rare >= 2 or (len(uw_all) >= 2 and uw_all <= e["all_words"])):
                        method = "dob_year"
                    # Two full dates of the same month that differ (a typo on one list: 04 Sep /
                    # 07 Sep 1975) agree only on stronger name evidence.
                    if method and all(d.date and dob.date for d in year) and not (
                            n_rare >= 2 and 3 * n_sh >= 2 * len(uw)):
                        method = None
                shared_w = shared_w + ["~" + w for w in near]
            elif len(uw_all) >= 2 and uw_all <= e["all_words"]:
                if not code or not (e["iso"] or e["place"].strip(" |")) or country_agrees(code, e):
                    method = "name_only"
            if method:
                hits.append((e, method, shared_w))
        # The strongest method found decides; weaker pairings are dropped when a stronger exists.
        rank = {"dob_date": 0, "dob_year": 1, "name_only": 2}
        if hits:
            best = min(rank[m] for _, m, _ in hits)
            hits = [h for h in hits if rank[h[1]] == best]
            def strength(h):  # (shared words, of them exact)
                return (len(h[2]), sum(not w.startswith("~") for w in h[2]))
            most = max(strength(h) for h in hits)
            hits = [h for h in hits if strength(h) == most]
        expected = []
        evidence = []
        for e, m, sw in hits:
            key = "%s:%s" % (e["list"], e["id"])
            if key in expected:
                continue
            expected.append(key)
            evidence.append("%s %s [%s]" % (key, e["names"][0], " ".join(sw)))
        method = hits[0][1] if hits else ""
        stats[method or "none"] += 1
        out.append([n, row["full_name"], row["date_of_birth"], row["nationality"],
                    ";".join(expected), method, " | ".join(evidence)])
    with open(out_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["un_row", "un_name", "un_dob", "un_nationality", "expected", "method", "evidence"])
        w.writerows(out)
    print("%d UN rows: %s" % (len(out), ", ".join("%s %d" % kv for kv in sorted(stats.items()))),
          file=sys.stderr)


if __name__ == "__main__":
    main()
