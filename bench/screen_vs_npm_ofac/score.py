"""Per query kind: how many each engine got right (positives: the expected SDN entry found;
negatives: nothing found)."""
import json, sys
from collections import defaultdict
work = sys.argv[1]
qs = json.load(open(f'{work}/qs.json'))
eg = [json.loads(l) for l in open(f'{work}/eg_out.jsonl')]
npm = json.load(open(f'{work}/npm_out.json'))
st = defaultdict(lambda: [0, 0, 0])
for q, e, n in zip(qs, eg, npm):
    ids = [m['entity_id'] for m in e['matches'] if m['list'] == 'us_ofac_sdn']
    s = st[q['kind']]
    s[0] += 1
    if q['label'] == 'match':
        s[1] += q['id'] in ids
        s[2] += q['id'] in n
    else:
        s[1] += not e['matches']
        s[2] += not n
for k, (n, a, b) in st.items():
    print(f'{k:15s} n={n:3d}  eargate {a:3d} ({a / n:.3f})  npm ofac {b:3d} ({b / n:.3f})')
