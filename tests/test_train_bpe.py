"""The BPE learner: a hand-worked example, determinism, round-trips through its files, fastBPE file formats."""

import json
from collections import Counter

from xlm.train.bpe import BPE, SPECIAL_TOKENS, count_words, fastbpe_to_hub

# Worked by hand. Words: low x5, lower x2, newest x6, widest x3, split into characters with "</w>" on the last:
#   l o w</w> | l o w e r</w> | n e w e s t</w> | w i d e s t</w>
# Pair counts: (e,s)=6+3=9, (s,t</w>)=9, (w,e)=6+2=8, (l,o)=5+2=7, (n,e)=6, (e,w)=6, (o,w</w>)=5, (o,w)=2,
#   (e,r</w>)=2, (w,i)=(i,d)=(d,e)=3.
# 1. (e,s) 9 and (s,t</w>) 9 tie; "e" < "s" so (e,s) first.     newest -> n e w es t</w>, widest -> w i d es t</w>
# 2. (es,t</w>) 9.                                               newest -> n e w est</w>, widest -> w i d est</w>
#    (w,e) lost newest's 6 and is now 2 (lower only).
# 3. (l,o) 7.                                                    low -> lo w</w>, lower -> lo w e r</w>
# 4. (e,w) 6 and (n,e) 6 tie; "e" < "n".                         newest -> n ew est</w>
# 5. (ew,est</w>) 6 and (n,ew) 6 tie; "ew" < "n".                newest -> n ewest</w>
# 6. (n,ewest</w>) 6.                                            newest -> newest</w>
# 7. (lo,w</w>) 5.                                               low -> low</w>
HAND_MERGES = [
    ("e", "s", 9),
    ("es", "t</w>", 9),
    ("l", "o", 7),
    ("e", "w", 6),
    ("ew", "est</w>", 6),
    ("n", "ewest</w>", 6),
    ("lo", "w</w>", 5),
]
TEXT = ["low low low low low lower lower", "newest newest newest newest newest newest widest widest widest"]


def test_learner_matches_hand_worked_merges():
    assert BPE.learn(count_words(TEXT), 7, progress=False).merges == HAND_MERGES


def test_learning_is_deterministic_whatever_the_input_order():
    counts = count_words(TEXT)
    shuffled = Counter(dict(reversed(list(counts.items()))))
    assert BPE.learn(counts, 12, progress=False).merges == BPE.learn(shuffled, 12, progress=False).merges


def test_segmentation_by_hand():
    bpe = BPE(HAND_MERGES)
    # "lowest": l o w e s t</w> -> (e,s) -> (es,t</w>) -> (l,o) -> lo w est</w>; (lo,w</w>) does not apply ("w"
    # is not final here).
    assert bpe.segment("lowest") == ["lo", "w", "est</w>"]
    assert bpe.segment("newest") == ["newest</w>"]
    assert bpe.segment("x") == ["x</w>"]


def test_codes_round_trip_and_hub_files(tmp_path):
    counts = count_words([*TEXT, "the lowest newer widths slower"])
    bpe = BPE.learn(counts, 20, progress=False)
    tokens = bpe.save(tmp_path, counts)
    back = BPE.read_codes(tmp_path / "codes")
    assert back.merges == bpe.merges
    from_merges = BPE.read_codes(tmp_path / "merges.txt")
    for word in [*counts, "unseen", "lowering"]:
        assert back.segment(word) == bpe.segment(word) == from_merges.segment(word)
    # fastBPE codes lines are "a b count"; merges.txt the same without counts.
    a, b, n = bpe.merges[0]
    assert (tmp_path / "codes").read_text().splitlines()[0] == f"{a} {b} {n}"
    assert (tmp_path / "merges.txt").read_text().splitlines()[0] == f"{a} {b}"
    vocab = json.loads((tmp_path / "vocab.json").read_text())
    assert list(vocab)[:14] == SPECIAL_TOKENS and list(vocab.values()) == list(range(len(vocab)))
    assert list(vocab) == tokens
    # Every segmentation of a training word is made of vocabulary tokens.
    for word in counts:
        assert all(piece in vocab for piece in bpe.segment(word))


def test_fastbpe_vocab_format(tmp_path):
    counts = count_words(TEXT)
    BPE(HAND_MERGES).save(tmp_path, counts)
    lines = dict(line.split() for line in (tmp_path / "vocab").read_text().splitlines())
    # newest x6 and low x5 are whole words; "lower" -> lo@@ w@@ e@@ r (2 each); widest -> w@@ i@@ d@@ est.
    assert lines["newest"] == "6" and lines["low"] == "5" and lines["lo@@"] == "2" and lines["r"] == "2"
    assert lines["w@@"] == "5" and lines["est"] == "3"
    assert fastbpe_to_hub("lo@@") == "lo" and fastbpe_to_hub("est") == "est</w>"


def test_segmentation_matches_transformers_on_real_codes(shared_data):
    """The XNLI-15 fastBPE codes (and their Hub merges.txt) segment words exactly as transformers' XLMTokenizer."""
    from transformers import XLMTokenizer

    folder = shared_data / "xlm-mlm-tlm-xnli15-1024"
    oracle = XLMTokenizer(vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt"))
    codes = BPE.read_codes(shared_data / "xnli15-fastbpe" / "codes_xnli_15")
    merges = BPE.read_codes(folder / "merges.txt")
    assert codes.merges[:2] == [("a", "n", 18604844), ("i", "n", 15375897)]
    assert [m[:2] for m in codes.merges] == [m[:2] for m in merges.merges]
    context = json.loads((shared_data / "xquad" / "xquad.de.json").read_text())["data"][0]["paragraphs"][0][
        "context"
    ]
    words = [*sorted(set(context.lower().split())), "international", "привет", "中华人民共和国", "aaaa"]
    ranks = codes.ranks
    for word in words:
        assert codes.segment(word, ranks) == oracle.bpe(word).split(" "), word
