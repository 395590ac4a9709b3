"""Citations checked by code, and per-sentence support."""

from assistant.answering.citations import check_citations, split_pieces
from assistant.answering.support import Vocabulary, support

SOURCES = {
    1: "Tap Can't get a code? on the sign-in screen and choose Request account recovery. "
    "Korvo Support will contact you by email to verify your identity.",
    2: "The hub LED blinks blue while it pairs with your phone.",
}


def test_a_marker_naming_no_given_source_is_removed():
    checked = check_citations("Choose Request account recovery [7].", SOURCES)
    assert checked.removed_markers == [7]
    assert "[7]" not in checked.text
    assert checked.text == "Choose Request account recovery [1]."


def test_a_marker_naming_a_source_that_does_not_support_the_sentence_is_moved():
    answer = "Support will contact you by email to verify your identity [2]."
    checked = check_citations(answer, SOURCES)
    assert checked.removed_markers == [2]
    assert checked.sentences[0].citations == [1]


def test_an_unsupported_sentence_is_marked_and_not_cited():
    answer = (
        "Choose Request account recovery [1]. "
        "Then reinstall the authenticator and reboot twice [1]."
    )
    checked = check_citations(answer, SOURCES)
    first, second = checked.sentences
    assert first.supported and first.citations == [1]
    assert not second.supported and second.citations == []
    assert checked.unsupported == ["Then reinstall the authenticator and reboot twice."]
    assert checked.to_dict()["sentences"][1]["supported"] is False


def test_markers_after_the_full_stop_belong_to_their_sentence():
    pieces = [p for p, _ in split_pieces("Choose recovery. [1] The LED blinks blue.")]
    assert pieces == ["Choose recovery [1].", "The LED blinks blue."]


def test_numbered_steps_are_not_split_at_their_number():
    pieces = [p for p, _ in split_pieces("1. Open Settings.\n2. Tap Reset.")]
    assert pieces == ["1. Open Settings.", "2. Tap Reset."]


def test_support_counts_words_and_word_pairs():
    source = Vocabulary.of("Korvo Support will contact you by email.")
    assert support("Korvo Support will contact you by email", source) == 1.0
    assert support("Support will call you by phone", source) < 0.5
    assert support("the and of", source) is None
