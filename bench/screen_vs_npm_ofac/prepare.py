"""Writes sdn_from_csv.xml (individuals + aliases, OFAC XML shape) and the queries."""
import csv, html, json, sys
shared, tests, work = sys.argv[1:4]
sdn = {}
for r in csv.reader(open(f'{shared}/ofac_sdn_2024-05-03/sdn.csv', encoding='latin-1')):
    if r and r[0].strip().isdigit():
        sdn[r[0].strip()] = (r[1].strip(), r[2].strip())
alts = {}
for r in csv.reader(open(f'{shared}/ofac_sdn_aux_2025-12/alt.csv', encoding='latin-1')):
    if r and r[0].strip().isdigit():
        alts.setdefault(r[0].strip(), []).append(r[3].strip())
out = ['<?xml version="1.0" standalone="yes"?>', '<sdnList>']
for uid, (name, typ) in sdn.items():
    if typ != 'individual' or ',' not in name:
        continue
    last, first = [x.strip() for x in name.split(',', 1)]
    e = (f'<sdnEntry><uid>{uid}</uid><lastName>{html.escape(last)}</lastName>'
         f'<firstName>{html.escape(first)}</firstName><sdnType>Individual</sdnType><akaList>')
    for a in alts.get(uid, []):
        if ',' in a:
            al, af = [x.strip() for x in a.split(',', 1)]
            e += f'<aka><lastName>{html.escape(al)}</lastName><firstName>{html.escape(af)}</firstName></aka>'
    out.append(e + '</akaList></sdnEntry>')
out.append('</sdnList>')
open(f'{work}/sdn_from_csv.xml', 'w').write('\n'.join(out))
qs = []
for f, kinds in [(f'{tests}/derived_labelled.csv', {'reorder'}),
                 (f'{tests}/heldout_labelled.csv', {'middle_dropped', 'chimera_person'})]:
    for r in csv.DictReader(open(f, encoding='utf-8')):
        if r['kind'] not in kinds:
            continue
        if r['kind'] == 'reorder':
            name, typ = sdn.get(r['expected_id'], ('', ''))
            if r['expected_list'] != 'us_ofac_sdn' or typ != 'individual' or ',' not in name:
                continue
            last, first = [x.strip() for x in name.split(',', 1)]
        else:  # "First [Middle] LAST": the surname is the upper-case tail
            toks = r['query'].split()
            k = len(toks)
            while k > 0 and toks[k - 1].isupper():
                k -= 1
            first, last = ' '.join(toks[:k]), ' '.join(toks[k:])
            if not first or not last:
                continue
        qs.append(dict(kind=r['kind'], label=r['label'], id=r['expected_id'], firstName=first, lastName=last))
json.dump(qs, open(f'{work}/qs.json', 'w'))
with open(f'{work}/qs.jsonl', 'w') as f:
    for q in qs:
        f.write(json.dumps({'name': q['firstName'] + ' ' + q['lastName'], 'type': 'person'}) + '\n')
