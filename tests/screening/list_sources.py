"""The shared list files the labelled-set generators read (make_derived.py, make_heldout.py):
OFAC SDN 2024-05-03 with the 2025-12 aliases, and the CSL 2023-11 rows as dicts.
Paths are under SHARED_SCREENING_DIR (../shared/data/screening; see its PROVENANCE.md)."""
import csv


def ofac_rows(path):
    """Rows of an OFAC CSV file (sdn.csv, alt.csv) that start with an ent_num, fields stripped."""
    with open(path, encoding='latin-1', newline='') as f:
        for r in csv.reader(f):
            if r and r[0].strip().isdigit():
                yield [x.strip() for x in r]


def load_sdn(src):
    """ent_num -> {name, type, aliases}: SDN 2024-05-03 names with their 2025-12 aliases."""
    sdn = {}
    for r in ofac_rows(f'{src}/ofac_sdn_2024-05-03/sdn.csv'):
        sdn[r[0]] = dict(name=r[1], type=r[2], aliases=[])
    for r in ofac_rows(f'{src}/ofac_sdn_aux_2025-12/alt.csv'):
        if r[0] in sdn and r[3] != '-0-':
            sdn[r[0]]['aliases'].append(r[3])
    return sdn


def csl_rows(src):
    """The CSL 2023-11 rows as dicts keyed by its header (malformed and header rows skipped)."""
    with open(f'{src}/us_csl_2023-11/csl.csv', encoding='utf-8', newline='') as f:
        rows = list(csv.reader(f))
    hdr = rows[0]
    for r in rows[1:]:
        if len(r) != len(hdr) or r[0] == '_id':
            continue
        yield dict(zip(hdr, r))
