#!/usr/bin/env python3
"""Derives a labelled screening set from the real lists in ../shared/data/screening/.

Positives (label=match, the query must find expected_list/expected_id):
  reorder   "LAST, First Middle" -> "First Middle Last"; organizations: words shuffled
  alias     an OFAC alt.csv / CSL alt_names alias, verbatim
  typo      one edit (swap, drop, double or replace a letter) in a token of 6+ letters
  company   company form changed: LLC <-> Ltd, "Co., Ltd." added or dropped
  cyrillic  a person's name written in Cyrillic (simple letter map)
  case      lower case, punctuation dropped
Negatives (label=non_match, the query should find nothing at the threshold):
  swapname  the most distinctive token replaced by a surname from negatives_us.csv
  otherfirst a person's given names replaced by other given names (same surname)

Deterministic (seeded). Usage: make_derived.py SHARED_SCREENING_DIR OUT.csv
"""
import csv, random, re, sys

from list_sources import csl_rows, load_sdn

src, out = sys.argv[1], sys.argv[2]
rnd = random.Random(20261126)

sdn = load_sdn(src)
csl = []
for d in csl_rows(src):
    code = {'(EL)': 'us_bis_el', '(UVL)': 'us_bis_uvl', '(MEU)': 'us_bis_meu'}
    for k, v in code.items():
        if k in d['source']:
            csl.append(dict(list=v, id=d['entity_number'] or d['_id'], name=d['name'],
                            aliases=[a.strip() for a in d['alt_names'].split(';') if a.strip()]))
surnames = []
with open(f'{src}/labelled/yente_candidate_generation/negatives_us.csv', encoding='utf-8') as f:
    for i, r in enumerate(csv.DictReader(f)):
        if r['last_name'] and r['last_name'].isascii() and len(r['last_name']) >= 5:
            surnames.append(r['last_name'])
        if i > 5000:
            break
given = ['Sergei', 'Maria', 'Olga', 'Peter', 'Jose', 'Anna', 'Hans', 'Lucia', 'Pavel', 'Elena',
         'Tomas', 'Ingrid', 'Kenji', 'Fatima', 'Yusuf', 'Carlos', 'Irina', 'Marco']

items = [('us_ofac_sdn', k, v) for k, v in sdn.items()] + [(c['list'], c['id'], c) for c in csl]
persons = [(l, i, e) for l, i, e in items if l == 'us_ofac_sdn' and e['type'] == 'individual'
           and ',' in e['name']]
orgs = [(l, i, e) for l, i, e in items if l != 'us_ofac_sdn' or e['type'] == '-0-']
with_alias = [(l, i, e) for l, i, e in items if e['aliases']]

def person_natural(name):
    last, first = name.split(',', 1)
    return f'{first.strip()} {last.strip()}'

def typo(name):
    toks = name.split()
    cands = [k for k, t in enumerate(toks) if len(t) >= 6 and t.isalpha()]
    if not cands:
        return None
    k = rnd.choice(cands)
    t = toks[k]
    p = rnd.randrange(1, len(t) - 1)
    op = rnd.randrange(4)
    if op == 0: t = t[:p] + t[p + 1] + t[p] + t[p + 2:]
    elif op == 1: t = t[:p] + t[p + 1:]
    elif op == 2: t = t[:p] + t[p] + t[p:]
    else: t = t[:p] + rnd.choice('aeiourstn') + t[p + 1:]
    toks[k] = t
    return ' '.join(toks)

FORMS = [(r'\bLLC\b', 'Ltd'), (r'\bLTD\b\.?', 'LLC'), (r'\bLimited\b', 'Ltd'),
         (r'\bCO\., LTD\.?', ''), (r'\bCompany\b', 'Co'), (r'\bOOO\b', 'LLC'), (r'\bGmbH\b', 'Ltd')]

def company(name):
    for pat, rep in FORMS:
        if re.search(pat, name, re.I):
            return re.sub(pat, rep, name, count=1, flags=re.I).strip(' ,')
    return name.rstrip('.') + rnd.choice([' Co., Ltd.', ' LLC', ' GmbH', ' Limited'])

CYR = {'shch': 'щ', 'iy': 'ий', 'yy': 'ый', 'ey': 'ей', 'ay': 'ай', 'oy': 'ой', 'uy': 'уй',
       'ye': 'е', 'yo': 'е', 'ee': 'и', 'ph': 'ф', 'th': 'т',
       'ce': 'се', 'ci': 'си', 'kh': 'х', 'zh': 'ж', 'ch': 'ч', 'sh': 'ш', 'yu': 'ю', 'ya': 'я', 'ts': 'ц',
       'a': 'а', 'b': 'б', 'v': 'в', 'g': 'г', 'd': 'д', 'e': 'е', 'z': 'з', 'i': 'и', 'y': 'й',
       'k': 'к', 'l': 'л', 'm': 'м', 'n': 'н', 'o': 'о', 'p': 'п', 'r': 'р', 's': 'с', 't': 'т',
       'u': 'у', 'f': 'ф', 'h': 'х', 'c': 'к', 'w': 'в', 'q': 'к', 'x': 'кс', 'j': 'дж'}

def cyrillic(name):
    s = re.sub('y([aeuo])', lambda m: {'a': 'я', 'e': 'е', 'u': 'ю', 'o': 'е'}[m.group(1)],
               name.lower())
    outp = ''
    i = 0
    while i < len(s):
        if s[i] == 'y' and i + 1 < len(s) and s[i + 1] not in 'aeiou ' and i > 0 and s[i - 1] not in 'aeiou ':
            outp += 'и'; i += 1; continue
        for n in (4, 2, 1):
            if s[i:i + n] in CYR:
                outp += CYR[s[i:i + n]]
                i += n
                break
        else:
            outp += s[i]
            i += 1
    return outp.title()

def distinctive(name):
    toks = [t for t in re.split(r'[\s,]+', name) if t]
    return max(range(len(toks)), key=lambda k: len(toks[k])), toks

rows = []
def add(q, l, i, label, kind):
    if q and q.strip():
        rows.append(dict(query=q.strip(), expected_list=l, expected_id=i, label=label, kind=kind))

N = 150
for l, i, e in rnd.sample(persons, N): add(person_natural(e['name']), l, i, 'match', 'reorder')
for l, i, e in rnd.sample(orgs, N // 2):
    toks = e['name'].split(); rnd.shuffle(toks); add(' '.join(toks), l, i, 'match', 'reorder')
for l, i, e in rnd.sample(with_alias, N): add(rnd.choice(e['aliases']), l, i, 'match', 'alias')
for l, i, e in rnd.sample(items, N): add(typo(e['name'].replace(',', '')), l, i, 'match', 'typo')
for l, i, e in rnd.sample(orgs, N): add(company(e['name']), l, i, 'match', 'company')
ascii_persons = [p for p in persons if re.fullmatch(r"[A-Za-z ,'-]+", p[2]['name'])]
for l, i, e in rnd.sample(ascii_persons, N): add(cyrillic(person_natural(e['name'])), l, i, 'match', 'cyrillic')
for l, i, e in rnd.sample(items, N // 2):
    add(re.sub(r'[^\w\s]', ' ', e['name']).lower(), l, i, 'match', 'case')
for l, i, e in rnd.sample(items, N * 2):
    k, toks = distinctive(e['name'])
    if len(toks) < 2: continue
    toks[k] = rnd.choice(surnames)
    add(' '.join(toks), l, i, 'non_match', 'swapname')
for l, i, e in rnd.sample(persons, N):
    last = e['name'].split(',')[0]
    add(f'{rnd.choice(given)} {rnd.choice(given)}ovna {last}', l, i, 'non_match', 'otherfirst')

with open(out, 'w', newline='', encoding='utf-8') as f:
    w = csv.DictWriter(f, fieldnames=['query', 'expected_list', 'expected_id', 'label', 'kind'])
    w.writeheader()
    w.writerows(rows)
print(len(rows), 'rows')
