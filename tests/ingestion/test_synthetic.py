"""The synthetic support-router logs: deterministic, realistic, streamed in constant memory."""

import json
import tracemalloc
from collections import Counter

from slm_assets.config import load_settings
from slm_assets.core.ingestion.synthetic import INTENTS, generate_lines, write_logs

FIELDS = ["request_id", "timestamp", "customer_id", "channel", "product", "difficulty", "language", "text", "intent"]


def test_intents_are_the_default_task_labels():
    assert list(INTENTS) == load_settings().task_labels()


def test_same_seed_same_file_other_seed_other_file(tmp_path):
    a = write_logs(tmp_path / "a.jsonl", 3000, seed=11)
    b = write_logs(tmp_path / "b.jsonl", 3000, seed=11)
    c = write_logs(tmp_path / "c.jsonl", 3000, seed=12)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "a.jsonl").read_bytes() != (tmp_path / "c.jsonl").read_bytes()
    assert a["rows"] == b["rows"] == c["rows"] == 3000
    assert len((tmp_path / "a.jsonl").read_bytes().splitlines()) == 3000


def test_logs_have_what_real_logs_have(tmp_path):
    counts = write_logs(tmp_path / "logs.jsonl", 6000, seed=3)
    rows, broken = [], 0
    for raw in (tmp_path / "logs.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(raw))
        except ValueError:
            broken += 1
    assert broken == counts["malformed_truncated_json"] > 0
    well_formed = [r for r in rows if list(r) == FIELDS and isinstance(r["text"], str) and r["timestamp"].endswith("Z")]
    n = len(well_formed)
    assert 0.97 * 6000 < n < 6000
    labelled = [r for r in well_formed if r["intent"] is not None]
    assert 0.28 < len(labelled) / n < 0.39
    assert set(r["intent"] for r in labelled) == set(INTENTS)
    assert len({r["product"] for r in well_formed}) >= 4 and len({r["channel"] for r in well_formed}) == 4
    assert {r["difficulty"] for r in well_formed} == {"easy", "medium", "hard"}
    assert {"es", "de", "fr"} <= {r["language"] for r in well_formed}
    customers = Counter(r["customer_id"] for r in well_formed)
    assert customers.most_common(1)[0][1] >= 5  # customers come back
    months = {r["timestamp"][:7] for r in well_formed}
    assert len(months) >= 6
    assert max(len(r["text"]) for r in well_formed) > 3000  # pasted logs and signatures
    assert any("@example.com" in r["text"] for r in well_formed)
    ids = Counter(r["request_id"] for r in well_formed)
    repeated = sum(c - 1 for c in ids.values())
    assert repeated >= counts["exact_repeat"] * 0.9  # the same line logged again (a few may be malformed)
    for kind in ("missing_text", "wrong_type", "bad_timestamp", "naive_timestamp", "truncated_json"):
        assert counts[f"malformed_{kind}"] > 0
    assert counts["near_duplicate"] > 0 and counts["pii"] > 0 and counts["long"] > 0


def test_intent_is_learnable_from_the_text():
    # A linear bag-of-words model trained on 1,200 labelled rows routes the rest well,
    # so the labels follow from the wording (a fine-tuned SLM can learn them too).
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    rows = [json.loads(line) for line, traits in generate_lines(6000, seed=5) if "labelled" in traits]
    train, test = rows[:1200], rows[1200:]
    vec = TfidfVectorizer(min_df=2, sublinear_tf=True)
    clf = LinearSVC().fit(vec.fit_transform([r["text"] for r in train]), [r["intent"] for r in train])
    predicted = clf.predict(vec.transform([r["text"] for r in test]))
    correct = Counter()
    total = Counter(r["difficulty"] for r in test)
    for r, p in zip(test, predicted):
        correct[r["difficulty"]] += p == r["intent"]
    assert sum(correct.values()) / len(test) > 0.9, (correct, total)
    assert min(correct[d] / total[d] for d in total) > 0.8, (correct, total)


def _peak_bytes(tmp_path, rows: int) -> int:
    tracemalloc.start()
    try:
        write_logs(tmp_path / f"mem-{rows}.jsonl", rows, seed=1)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_rows(tmp_path):
    small = _peak_bytes(tmp_path, 1_000)
    large = _peak_bytes(tmp_path, 10_000)
    # 10x the rows: anything that kept rows around would need ~10x the memory.
    assert large < 1.5 * small + 500_000, (small, large)
