#!/usr/bin/env python3
"""Generates the Han-character name-reading tables the screening normalizer compiles in.

    apt-get download mecab-ipadic unicode-data
    dpkg -x mecab-ipadic_2.7.0-20070801+main-3_all.deb pkg
    dpkg -x unicode-data_15.0.0-1_all.deb pkg
    python3 tests/screening/make_name_readings.py pkg data/name_readings

Writes (deterministic; see data/name_readings/PROVENANCE.md):

  ja_names.tsv   Japanese surnames and given names written in kanji, from IPAdic's
                 Noun.name.csv (EUC-JP; rows 名詞,固有名詞,人名,姓 = surname and
                 人名,名 = given name; the 人名,一般 rows are whole historical names and are left
                 out). Up to three rows per (surface, kind): `surface<TAB>s|g<TAB>cost<TAB>reading`,
                 the distinct readings of least IPAdic cost (the commonest) first, romanized from
                 the pronunciation column (long vowels written ー) in passport-style Hepburn:
                 long vowels not marked (タロー -> "taro"), ン always "n", ッ doubles the next
                 consonant ("tch" before ch). Surfaces holding kana or Latin are skipped.
  ko_hanja.tsv   Korean readings of Han characters from Unihan_Readings.txt (kHangul):
                 `character<TAB>hangul`. Where a character has several readings, the one
                 flagged N (the Korean table of hanja for personal names, UAX #38) is kept, else
                 the first one listed (金: 금:0E 김:0N -> 김; 李: 리:0E 이:0 -> 리).
"""
import bz2
import os
import sys

# Readings kept per (surface, kind): the commonest (least IPAdic cost) first.
MAX_READINGS = 3

HEPBURN = {
    'ア': 'a', 'イ': 'i', 'ウ': 'u', 'エ': 'e', 'オ': 'o',
    'カ': 'ka', 'キ': 'ki', 'ク': 'ku', 'ケ': 'ke', 'コ': 'ko',
    'ガ': 'ga', 'ギ': 'gi', 'グ': 'gu', 'ゲ': 'ge', 'ゴ': 'go',
    'サ': 'sa', 'シ': 'shi', 'ス': 'su', 'セ': 'se', 'ソ': 'so',
    'ザ': 'za', 'ジ': 'ji', 'ズ': 'zu', 'ゼ': 'ze', 'ゾ': 'zo',
    'タ': 'ta', 'チ': 'chi', 'ツ': 'tsu', 'テ': 'te', 'ト': 'to',
    'ダ': 'da', 'ヂ': 'ji', 'ヅ': 'zu', 'デ': 'de', 'ド': 'do',
    'ナ': 'na', 'ニ': 'ni', 'ヌ': 'nu', 'ネ': 'ne', 'ノ': 'no',
    'ハ': 'ha', 'ヒ': 'hi', 'フ': 'fu', 'ヘ': 'he', 'ホ': 'ho',
    'バ': 'ba', 'ビ': 'bi', 'ブ': 'bu', 'ベ': 'be', 'ボ': 'bo',
    'パ': 'pa', 'ピ': 'pi', 'プ': 'pu', 'ペ': 'pe', 'ポ': 'po',
    'マ': 'ma', 'ミ': 'mi', 'ム': 'mu', 'メ': 'me', 'モ': 'mo',
    'ヤ': 'ya', 'ユ': 'yu', 'ヨ': 'yo',
    'ラ': 'ra', 'リ': 'ri', 'ル': 'ru', 'レ': 're', 'ロ': 'ro',
    'ワ': 'wa', 'ヰ': 'i', 'ヱ': 'e', 'ヲ': 'o', 'ン': 'n', 'ヴ': 'vu',
    'ァ': 'a', 'ィ': 'i', 'ゥ': 'u', 'ェ': 'e', 'ォ': 'o', 'ヮ': 'wa',
}
# Consonant + small ya/yu/yo (and the foreign-sound pairs names use).
DIGRAPH_BASE = {'キ': 'k', 'ギ': 'g', 'シ': 'sh', 'ジ': 'j', 'チ': 'ch', 'ヂ': 'j', 'ニ': 'n',
                'ヒ': 'h', 'ビ': 'b', 'ピ': 'p', 'ミ': 'm', 'リ': 'r'}
SMALL_Y = {'ャ': 'a', 'ュ': 'u', 'ョ': 'o'}
FOREIGN = {'ティ': 'ti', 'ディ': 'di', 'ファ': 'fa', 'フィ': 'fi', 'フェ': 'fe', 'フォ': 'fo',
           'シェ': 'she', 'ジェ': 'je', 'チェ': 'che', 'ウィ': 'wi', 'ウェ': 'we', 'ウォ': 'wo',
           'ヴァ': 'va', 'ヴィ': 'vi', 'ヴェ': 've', 'ヴォ': 'vo', 'トゥ': 'tu', 'ドゥ': 'du'}


def hiragana_to_katakana(s):
    return ''.join(chr(ord(c) + 0x60) if 'ぁ' <= c <= 'ゖ' else c for c in s)


def hepburn(kana):
    """Passport-style Hepburn of a katakana pronunciation; None if a sign is unknown."""
    kana = hiragana_to_katakana(kana)
    syl = []
    i = 0
    while i < len(kana):
        c = kana[i]
        nxt = kana[i + 1] if i + 1 < len(kana) else ''
        if c + nxt in FOREIGN:
            syl.append(FOREIGN[c + nxt])
            i += 2
        elif c in DIGRAPH_BASE and nxt in SMALL_Y:
            syl.append(DIGRAPH_BASE[c] + ('' if DIGRAPH_BASE[c] in ('sh', 'ch', 'j') else 'y') +
                       SMALL_Y[nxt])
            i += 2
        elif c in ('ッ', 'ー'):
            syl.append(c)
            i += 1
        elif c in HEPBURN:
            syl.append(HEPBURN[c])
            i += 1
        else:
            return None
    out = ''
    for k, s in enumerate(syl):
        if s == 'ー':
            continue  # long vowel: not marked
        if s == 'ッ':
            follow = next((t for t in syl[k + 1:] if t not in ('ッ', 'ー')), '')
            if not follow or follow[0] in 'aiueon':
                return None
            out += 't' if follow.startswith('ch') else follow[0]
            continue
        out += s
    return out


def is_han(c):
    o = ord(c)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or
            0x20000 <= o <= 0x3134F or c == '々')


def make_ja(pkg, out_dir):
    path = os.path.join(pkg, 'usr/share/mecab/dic/ipadic/Noun.name.csv')
    best = {}
    with open(path, encoding='euc_jp') as f:
        for line in f:
            row = line.rstrip('\n').split(',')
            if len(row) < 13 or row[6] != '人名' or row[7] not in ('姓', '名'):
                continue
            surface, cost, pron = row[0], int(row[3]), row[12]
            if not surface or not all(is_han(c) for c in surface):
                continue
            reading = hepburn(pron)
            if not reading:
                continue
            key = (surface, 's' if row[7] == '姓' else 'g')
            readings = best.setdefault(key, {})
            if reading not in readings or cost < readings[reading]:
                readings[reading] = cost
    with open(os.path.join(out_dir, 'ja_names.tsv'), 'w', encoding='utf-8', newline='\n') as f:
        f.write('# Japanese name readings (surface, s = surname / g = given name, IPAdic cost, '
                'Hepburn reading).\n# Derived and modified from IPAdic 2.7.0 Noun.name.csv '
                '(Debian mecab-ipadic 2.7.0-20070801+main-3) by\n# '
                'tests/screening/make_name_readings.py; copyright notice and licence in '
                'LICENSE.ipadic.\n')
        rows = 0
        for (surface, kind), readings in sorted(best.items()):
            for reading, cost in sorted(readings.items(), key=lambda rc: (rc[1], rc[0]))[:MAX_READINGS]:
                f.write(f'{surface}\t{kind}\t{cost}\t{reading}\n')
                rows += 1
    return rows


def make_ko(pkg, out_dir):
    path = os.path.join(pkg, 'usr/share/unicode/Unihan_Readings.txt.bz2')
    rows = {}
    with bz2.open(path, 'rt', encoding='utf-8') as f:
        for line in f:
            if line.startswith('#') or '\tkHangul\t' not in line:
                continue
            cp, _, value = line.rstrip('\n').split('\t')
            readings = [r.split(':') for r in value.split(' ')]
            chosen = next((h for h, src in readings if 'N' in src), readings[0][0])
            rows[int(cp[2:], 16)] = chosen
    with open(os.path.join(out_dir, 'ko_hanja.tsv'), 'w', encoding='utf-8', newline='\n') as f:
        f.write('# Korean readings of Han characters (character, Hangul): the kHangul reading '
                'flagged N (name hanja), else the first.\n# Derived and modified from Unihan '
                '15.0.0 Unihan_Readings.txt (Debian unicode-data 15.0.0-1) by\n# '
                'tests/screening/make_name_readings.py; copyright notice and licence in '
                'LICENSE.unicode.\n')
        for cp in sorted(rows):
            f.write(f'{chr(cp)}\t{rows[cp]}\n')
    return len(rows)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pkg, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    print('ja_names.tsv:', make_ja(pkg, out_dir), 'rows')
    print('ko_hanja.tsv:', make_ko(pkg, out_dir), 'rows')


if __name__ == '__main__':
    main()
