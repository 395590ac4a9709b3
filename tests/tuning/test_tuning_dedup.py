import pytest

from tuning.dedup import dedup, jaccard, normalize, shingles

LONG_Q = (
    "My printer shows error E-42 after the firmware update and will not print any "
    "pages from the laptop, what should I do?"
)
LONG_A = (
    "Turn the printer off, hold the feed button while turning it on, then reinstall "
    "the driver from the support page and print a test page."
)


def key(item):
    return item


def test_normalize_ignores_case_width_and_spacing():
    assert normalize("  Hello\n\tWORLD ") == "hello world"
    assert normalize("ＡＢＣ") == "abc"


def test_shingles_and_jaccard():
    assert shingles("abc", size=5) == frozenset({"abc"})
    assert len(shingles("abcdef", size=5)) == 2
    assert jaccard(frozenset(), frozenset()) == 1.0
    assert jaccard(frozenset("ab"), frozenset("bc")) == pytest.approx(1 / 3)


def test_exact_duplicates_after_normalisation_keep_the_first():
    items = [("Q one", "A one"), ("q  ONE", "a one "), ("Q two", "A two"), ("Q one", "A one")]
    result = dedup(items, key, near_threshold=None)
    assert result.kept == [("Q one", "A one"), ("Q two", "A two")]
    assert (result.exact_removed, result.near_removed) == (2, 0)


def test_near_duplicate_with_a_small_edit_is_removed():
    typo = LONG_Q.replace("printer shows", "printer shws")
    items = [(LONG_Q, LONG_A), (typo, LONG_A + "!")]
    result = dedup(items, key, near_threshold=0.85)
    assert result.kept == [(LONG_Q, LONG_A)]
    assert (result.exact_removed, result.near_removed) == (0, 1)


def test_threshold_is_respected():
    typo = LONG_Q.replace("printer shows", "printer shws")
    items = [(LONG_Q, LONG_A), (typo, LONG_A)]
    a, b = shingles(LONG_Q), shingles(typo)
    similarity = jaccard(a, b)
    assert 0.85 < similarity < 0.99
    assert len(dedup(items, key, near_threshold=0.99).kept) == 2
    assert len(dedup(items, key, near_threshold=None).kept) == 2
    assert len(dedup(items, key, near_threshold=similarity).kept) == 1


def test_same_question_with_a_different_answer_is_kept():
    items = [(LONG_Q, LONG_A), (LONG_Q, "Please contact the printer's manufacturer.")]
    result = dedup(items, key, near_threshold=0.8)
    assert len(result.kept) == 2
    assert result.near_removed == 0


def test_parts_are_compared_separately():
    # Same texts but swapped between parts: not a duplicate.
    items = [(LONG_Q, LONG_A), (LONG_A, LONG_Q)]
    assert len(dedup(items, key, near_threshold=0.5).kept) == 2


def test_unrelated_items_survive_at_scale():
    items = [
        (f"Question number {i} about product {i * 7919 % 1000}", f"Answer {i}") for i in range(300)
    ]
    result = dedup(items + items[:10], key, near_threshold=0.9)
    assert result.kept == items
    assert result.exact_removed == 10


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_invalid_threshold(threshold):
    with pytest.raises(ValueError):
        dedup([("a", "b")], key, near_threshold=threshold)


def test_near_duplicates_at_the_threshold_are_found_reliably():
    # Many independent pairs, each just above the threshold: LSH must not miss them.
    base = [
        f"Customer {i} asks how to configure the VPN client on a managed laptop "
        f"with profile {i * 31}"
        for i in range(200)
    ]
    edited = [text.replace("configure", "configur") for text in base]
    threshold = min(jaccard(shingles(a), shingles(b)) for a, b in zip(base, edited, strict=True))
    assert threshold > 0.85
    items = [(text, "same answer") for text in base + edited]
    result = dedup(items, key, near_threshold=threshold)
    assert result.near_removed == 200
