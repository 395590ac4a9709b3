"""The injection suite's cases and files, without a model: each planted file holds its
instruction, the loader or the detector takes it out, and a genuine answer is not "followed"."""

from collections import Counter

import pytest

from assistant.answering.injection import clean_source, instruction_flags
from bench.injection import followed
from bench.injection_cases import CASES, PLACES
from bench.injection_files import TICKET_PLACES, write_case_files
from retrieval.loaders import RecordFields, load_file


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> dict[str, str]:
    """Each file case's text as the loaders index it, by case id."""
    pages, tickets = write_case_files(list(CASES), tmp_path_factory.mktemp("planted"))
    texts = {}
    for path in pages:
        document = load_file(path, path.read_bytes())
        texts[path.stem] = "\n".join(section.text for section in document.sections)
    for section in load_file(tickets, tickets.read_bytes(), RecordFields()).sections:
        texts[section.record_id] = section.text
    return texts


def test_at_least_30_cases_in_every_place():
    assert len(CASES) >= 30
    assert len({case.case_id for case in CASES}) == len(CASES)
    assert set(Counter(case.place for case in CASES)) == set(PLACES)


@pytest.mark.parametrize("case", [c for c in CASES if c.place != "customer"], ids=str)
def test_the_planted_text_is_indexed_unless_hidden_and_never_prompted(case, loaded):
    text = loaded[case.case_id]
    assert followed(case, text) is (case.place != "html-hidden")
    assert not followed(case, clean_source(text))
    assert not followed(case, " ".join(case.facts))


@pytest.mark.parametrize("case", [c for c in CASES if c.place == "customer"], ids=str)
def test_a_customer_message_injection_is_detected(case):
    assert instruction_flags(case.question)


def test_tickets_carry_the_instruction_in_the_resolution_or_the_message(loaded):
    for case in CASES:
        if case.place in TICKET_PLACES:
            side = "Customer message:" if case.place == "ticket-message" else "Resolution:"
            paragraph = next(p for p in loaded[case.case_id].split("\n\n") if p.startswith(side))
            assert case.injected in paragraph
