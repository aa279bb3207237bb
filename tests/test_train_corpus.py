"""The training corpus: sentence splitting, the readers, and the held-out rules (on a small corpus built here)."""

import json
import lzma

from xlm.train import corpus
from xlm.train.debian import _HelpPage
from xlm.train.ud import read_conllu


def test_split_sentences():
    en = "Mr. Harker went home. He said: “Yes!” Then silence. “Why?” asked she. A 3.5 m wall."
    assert corpus.split_sentences(en, "en") == [
        "Mr. Harker went home.",
        "He said: “Yes!”",
        "Then silence.",
        "“Why?” asked she.",  # a lower-case word after the question mark continues the sentence
        "A 3.5 m wall.",
    ]
    assert corpus.split_sentences("话说天下大势，分久必合。「合久必分！」周末七国分争。", "zh") == [
        "话说天下大势，分久必合。",
        "「合久必分！」",
        "周末七国分争。",
    ]
    assert corpus.split_sentences("यह एक है। वह दो है।", "hi") == ["यह एक है।", "वह दो है।"]
    long = " ".join(["word"] * 250)
    assert [len(s.split()) for s in corpus.split_sentences(long, "en")] == [120, 120, 10]


CONLLU = """# sent_id = s1
# text = Don't go.
1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tDo\tdo\tAUX\t_\t_\t_\t_\t_\t_
2\tn't\tnot\tPART\t_\t_\t_\t_\t_\t_
3\tgo\tgo\tVERB\t_\t_\t_\t_\t_\t_
3.1\tgone\tgo\tVERB\t_\t_\t_\t_\t_\t_
4\t.\t.\tPUNCT\t_\t_\t_\t_\t_\t_

"""


def test_read_conllu_keeps_syntactic_words(tmp_path):
    path = tmp_path / "x-ud-test.conllu.xz"
    with lzma.open(path, "wt", encoding="utf-8") as f:
        f.write(CONLLU)
    (sentence,) = read_conllu(path)
    assert sentence.sent_id == "s1" and sentence.text == "Don't go."
    assert sentence.words == ("Do", "n't", "go", ".")
    assert sentence.upos == ("AUX", "PART", "VERB", "PUNCT")


def test_help_page_paragraphs_by_id():
    page = _HelpPage()
    page.feed(
        '<p id="par_id1" class="paragraph">Choose <emph>File - Open</emph>.<br>Then</p>'
        '<div><p id="other">not a paragraph</p><h2 id="hd_id2">Title</h2></div>'
    )
    assert {k: "".join(v) for k, v in page.texts.items()} == {
        "par_id1": "Choose File - Open.Then",
        "hd_id2": "Title",
    }


def _xz(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(path, "wt", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def _small_corpus(root):
    """Three English works (the middle-sized one is held out), UD train/test, NTREX and FLORES for en and fr."""
    works = {"a": 10, "b": 20, "c": 30}
    for name, n in works.items():
        _xz(
            root / "books" / "en" / f"{name}.txt.xz",
            [f"Book {name} says {i} things. It ends here." for i in range(n)],
        )
    manifest = ["path\tlang\tkind\tsource\tsplit\twords\tbytes_compressed\tsha256"]
    manifest += [f"books/en/{k}.txt.xz\ten\tbooks\tx\tall\t{n * 8}\t0\t0" for k, n in works.items()]
    (root / "MANIFEST.tsv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    block = "# text = {t}\n1\t{t}\t_\tNOUN\t_\t_\t_\t_\t_\t_\n\n"
    for split, text in (("train", "Trained treebank sentence"), ("test", "Book a says 3 things.")):
        path = root / "ud" / "en" / f"en_x-ud-{split}.conllu.xz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with lzma.open(path, "wt", encoding="utf-8") as f:
            f.write(block.format(t=text))
    en = [f"News line {i} is here." for i in range(1997)]
    _xz(root / "parallel" / "ntrex128" / "en.txt.xz", en)
    _xz(root / "parallel" / "ntrex128" / "fr.txt.xz", [f"Ligne {i} est là." for i in range(1997)])
    _xz(root / "parallel" / "flores200_sib200" / "en.txt.xz", ["Book c says 1 things."])
    _xz(root / "parallel" / "flores200_sib200" / "fr.txt.xz", ["Ligne 1600 est là."])


def test_build_keeps_every_heldout_sentence_out_of_training(tmp_path, monkeypatch):
    root = tmp_path / "corpus"
    _small_corpus(root)
    monkeypatch.setattr(corpus, "LANGS", ("en", "fr"))
    assert corpus.heldout_work(root, "en").name == "b.txt.xz"
    counts = corpus.build(tmp_path / "out", root, debian_dir=None, workers=1)
    tok = tmp_path / "out" / "tok"
    mono = (tok / "mono.en.train.txt").read_text(encoding="utf-8").splitlines()
    assert not any("Book b" in line for line in mono)  # the held-out work
    assert "Book a says 3 things ." not in mono  # equal to a UD test sentence
    assert "Book c says 1 things ." not in mono  # equal to a FLORES sentence
    assert "Book a says 4 things ." in mono and "Trained treebank sentence" in mono
    assert len(mono) == len(set(mono))  # "It ends here." once, not once per paragraph
    pairs = (tok / "para.fr.train.tsv").read_text(encoding="utf-8").splitlines()
    assert len(pairs) == counts["para.fr.train.tsv"] == 1500  # NTREX lines 0-1499 only
    assert pairs[0] == "News line 0 is here .\tLigne 0 est là ."
    assert len((tok / "para.fr.valid.tsv").read_text(encoding="utf-8").splitlines()) == 100
    heldout = corpus.mlm_eval_sentences(root, "en", n=5)
    assert set(heldout) == {"books", "ud", "ntrex"}
    assert all(s.startswith("Book b") for s in heldout["books"]) and len(heldout["books"]) == 5
    assert all(int(s.split()[2]) >= 1600 for s in heldout["ntrex"])
    assert json.loads((tmp_path / "out" / "sources.json").read_text())["counts"]["en"]["mono.books"] > 0
