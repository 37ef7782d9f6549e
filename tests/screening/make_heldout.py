#!/usr/bin/env python3
"""Derives a HELD-OUT labelled screening set from the real lists in ../shared/data/screening/.

Written after the scorer was tuned, and never used for tuning: the figures on it are reported
as measured. It differs from derived_labelled.csv (make_derived.py) in three ways:
  * entries: no (list, id) of derived_labelled.csv; besides SDN 2024-05 entries, rows of the
    CSL 2023-11 sources the tuning set did not use (SSI, ISN, DTC, PLC, CMIC, DPL);
  * aliases: OFAC 2025-12 alt.csv aliases re-ordered and lower-cased (tuning used them verbatim);
  * generation rules:
Positives (label=match, the query must find expected_list/expected_id):
  middle_dropped  a person with 2+ given names as "First Last", the middle names dropped
  phonetic        1-2 tokens re-spelled by sound (ph->f, ck->k, c->k before a/o/u, q->k,
                  th->t, oo->u, ee->i, ou->u, y->i inside a word, doubled consonants single)
  two_typos       one edit (swap, drop, double, replace) in each of two tokens of 5+ letters
  spacing         a hyphen dropped (tokens joined) or two short adjacent tokens joined
  alias_natural   an OFAC alias, "LAST, First" -> "first last", punctuation dropped
  other_lists     a CSL row of SSI/ISN/DTC/PLC/CMIC/DPL: words reversed, upper case
Negatives (label=non_match, nothing should match at the threshold):
  chimera_person  given names of one SDN person + the surname of another, where no listed
                  name or alias holds both the surname and any of the given names
  chimera_org     the first half of one organization's name + the second half of another's,
                  where no listed name holds a word of both halves... (see ok_chimera)

Deterministic (seeded). Usage: make_heldout.py SHARED_SCREENING_DIR EXCLUDE.csv[,EXCLUDE.csv...] OUT.csv [SEED]
Entries named in any EXCLUDE file are not used. heldout_labelled.csv is the default seed with
derived_labelled.csv excluded; heldout2_labelled.csv is seed 26112026 with both excluded (drawn
after the scorer was changed for heldout_labelled.csv's misses, and measured once).
"""
import csv, random, re, sys

from list_sources import csl_rows, load_sdn

src, excluded, out = sys.argv[1], sys.argv[2].split(','), sys.argv[3]
rnd = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 77102026)

used = set()
for path in excluded:
    with open(path, encoding='utf-8', newline='') as f:
        for r in csv.DictReader(f):
            used.add((r['expected_list'], r['expected_id']))

sdn = load_sdn(src)
CODES = {'(SSI)': 'us_ofac_ssi', '(ISN)': 'us_state_isn', '(DTC)': 'us_state_dtc',
         '(PLC)': 'us_ofac_plc', '(CMIC)': 'us_ofac_cmic', '(DPL)': 'us_bis_dpl'}
csl, all_names = [], []
for d in csl_rows(src):
    all_names.append(d['name'])
    all_names += [a.strip() for a in d['alt_names'].split(';') if a.strip()]
    for k, v in CODES.items():
        if k in d['source']:
            csl.append((v, d['entity_number'] or d['_id'], d['name']))
with open(f'{src}/bis_dpl_2023-11/dpl.txt', encoding='latin-1') as f:
    for line in f.read().splitlines()[1:]:
        all_names.append(line.split('\t')[0].strip('"'))
for e in sdn.values():
    all_names.append(e['name'])
    all_names += e['aliases']

def words(s):
    return set(w for w in re.split(r'[^a-z0-9]+', s.lower()) if w)
name_words = [words(n) for n in all_names]
by_word = {}
for k, ws in enumerate(name_words):
    for w in ws:
        by_word.setdefault(w, []).append(k)

def together(a, b):
    """True when some listed name holds a word of `a` and a word of `b`."""
    for w in a:
        for k in by_word.get(w, ()):
            if name_words[k] & b:
                return True
    return False

sdn_items = [('us_ofac_sdn', k, v) for k, v in sdn.items() if ('us_ofac_sdn', k) not in used]
persons = [(l, i, e) for l, i, e in sdn_items if e['type'] == 'individual' and ',' in e['name']
           and re.fullmatch(r"[A-Za-z ,.'-]+", e['name'])]
orgs = [(l, i, e) for l, i, e in sdn_items if e['type'] == '-0-' and len(e['name'].split()) >= 2]
csl = [c for c in csl if (c[0], c[1]) not in used]

def edit(t):
    p = rnd.randrange(1, len(t) - 1)
    op = rnd.randrange(4)
    if op == 0: return t[:p] + t[p + 1] + t[p] + t[p + 2:]
    if op == 1: return t[:p] + t[p + 1:]
    if op == 2: return t[:p] + t[p] + t[p:]
    return t[:p] + rnd.choice('aeiourstnl') + t[p + 1:]

SOUND = [('ph', 'f'), ('ck', 'k'), ('ca', 'ka'), ('co', 'ko'), ('cu', 'ku'), ('q', 'k'),
         ('th', 't'), ('oo', 'u'), ('ee', 'i'), ('ou', 'u')]

def phonetic(t):
    s = t.lower()
    for a, b in rnd.sample(SOUND, len(SOUND)):
        if a in s:
            return s.replace(a, b, 1)
    m = re.search(r'([bdfglmnprst])\1', s)
    if m:
        return s[:m.start()] + s[m.start() + 1:]
    if len(s) > 3 and 'y' in s[1:-1]:
        k = s.index('y', 1)
        return s[:k] + 'i' + s[k + 1:]
    return None

rows = []
def add(q, l, i, label, kind):
    if q and q.strip():
        rows.append(dict(query=re.sub(r'\s+', ' ', q).strip(), expected_list=l, expected_id=i,
                         label=label, kind=kind))

N = 150
cands = [p for p in persons if len(p[2]['name'].split(',', 1)[1].split()) >= 2]
for l, i, e in rnd.sample(cands, N):
    last, first = e['name'].split(',', 1)
    add(f'{first.split()[0]} {last}', l, i, 'match', 'middle_dropped')
n = 0
for l, i, e in rnd.sample(sdn_items, len(sdn_items)):
    if n >= N: break
    toks = e['name'].replace(',', ' ').split()
    idx = [k for k, t in enumerate(toks) if len(t) >= 4 and t.isalpha()]
    if not idx: continue
    changed = 0
    for k in rnd.sample(idx, min(len(idx), rnd.choice([1, 2]))):
        p = phonetic(toks[k])
        if p and p != toks[k].lower():
            toks[k] = p; changed += 1
    if changed:
        add(' '.join(toks), l, i, 'match', 'phonetic'); n += 1
n = 0
for l, i, e in rnd.sample(sdn_items, len(sdn_items)):
    if n >= N: break
    toks = e['name'].replace(',', ' ').split()
    idx = [k for k, t in enumerate(toks) if len(t) >= 5 and t.isalpha()]
    if len(idx) < 2: continue
    for k in rnd.sample(idx, 2):
        toks[k] = edit(toks[k])
    add(' '.join(toks), l, i, 'match', 'two_typos'); n += 1
n = 0
for l, i, e in rnd.sample(sdn_items, len(sdn_items)):
    if n >= N: break
    name = e['name'].replace(',', '')
    if re.search(r'\w-\w', name):
        add(re.sub(r'(\w)-(\w)', r'\1\2', name, count=1), l, i, 'match', 'spacing'); n += 1
        continue
    toks = name.split()
    pairs = [k for k in range(len(toks) - 1) if len(toks[k]) <= 4 and len(toks[k + 1]) <= 5
             and toks[k].isalpha() and toks[k + 1].isalpha()]
    if pairs:
        k = rnd.choice(pairs)
        toks[k:k + 2] = [toks[k] + toks[k + 1]]
        add(' '.join(toks), l, i, 'match', 'spacing'); n += 1
with_alias = [(l, i, e) for l, i, e in sdn_items if e['aliases']]
for l, i, e in rnd.sample(with_alias, N):
    a = rnd.choice(e['aliases'])
    if ',' in a:
        last, first = a.split(',', 1)
        a = f'{first} {last}'
    add(re.sub(r'[^\w\s]', ' ', a).lower(), l, i, 'match', 'alias_natural')
for l, i, name in rnd.sample(csl, min(N, len(csl))):
    toks = name.replace(',', ' ').split()
    add(' '.join(reversed(toks)).upper(), l, i, 'match', 'other_lists')
n = 0
while n < 2 * N:
    (_, ia, a), (_, ib, b) = rnd.sample(persons, 2)
    first = a['name'].split(',', 1)[1].strip()
    last = b['name'].split(',', 1)[0].strip()
    if together(words(first), words(last)) or len(words(last)) == 0:
        continue
    add(f'{first} {last}', 'none', '', 'non_match', 'chimera_person'); n += 1
n = 0
while n < N:
    (_, ia, a), (_, ib, b) = rnd.sample(orgs, 2)
    ta, tb = a['name'].split(), b['name'].split()
    ha, hb = ta[:max(1, len(ta) // 2)], tb[len(tb) // 2:]
    if together(words(' '.join(ha)), words(' '.join(hb))):
        continue
    add(' '.join(ha + hb), 'none', '', 'non_match', 'chimera_org'); n += 1

with open(out, 'w', newline='', encoding='utf-8') as f:
    w = csv.DictWriter(f, fieldnames=['query', 'expected_list', 'expected_id', 'label', 'kind'])
    w.writeheader()
    w.writerows(rows)
print(len(rows), 'rows')
