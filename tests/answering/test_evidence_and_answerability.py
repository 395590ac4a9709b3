"""Evidence picked with the real MiniLM, and declining what the sources do not answer."""

from assistant.answering.answerability import assess, unknown_terms
from assistant.answering.grounder import Grounder
from assistant.settings import AnswerSettings

TWO_FACTOR = """## Lost your phone or can't get codes?

1. Sign in with one of your **backup codes**, then set up your new phone.
2. If you have no backup codes left, tap **Can't get a code?** and choose **Request account \
recovery**. Korvo Support will contact you by email to verify your identity.
3. Once your identity is confirmed, we place a **24-hour security hold** on the account. \
The whole process usually takes up to 3 business days.

## Turn off two-factor authentication

Go to Settings > Security > Turn off. You need your password and a current code."""

PAYMENTS = """When you subscribe through Korvo you can pay with:
- Credit and debit cards: Visa, Mastercard and American Express,
- PayPal,
- SEPA Direct Debit (EU only)."""

KNOWN_WORDS = "korvo cloud subscript pay card paypal visa phone code backup account recoveri"
VOCABULARY = frozenset(KNOWN_WORDS.split())


def grounder(embed, **settings) -> Grounder:
    return Grounder(embed, AnswerSettings(**settings), lambda: VOCABULARY)


def ask(question: str) -> list[dict]:
    return [{"role": "user", "content": question}]


def test_a_procedure_comes_out_whole_and_in_order(embed):
    question = "I lost my phone and have no backup codes, how do I get back into my account?"
    plan = grounder(embed).plan(ask(question), {1: TWO_FACTOR})
    assert plan.answerable
    quoted = Grounder.quote(plan)
    assert "Request account recovery" in quoted
    assert quoted.index("Request account recovery") < quoted.index("24-hour security hold")
    assert "Turn off" not in quoted
    assert all(line.rstrip().endswith(("[1].", "[1]")) for line in quoted.splitlines())


def test_a_question_naming_what_the_knowledge_base_never_mentions_is_declined(embed):
    question = "Can I pay for my Korvo Cloud subscription with Bitcoin or another cryptocurrency?"
    plan = grounder(embed).plan(ask(question), {1: PAYMENTS})
    assert not plan.answerable
    assert set(plan.answerability.unknown) == {"bitcoin", "cryptocurr"}


def test_an_answerable_question_is_not_declined(embed):
    plan = grounder(embed).plan(ask("Can I pay with PayPal?"), {1: PAYMENTS})
    assert plan.answerable
    assert "PayPal" in Grounder.quote(plan)


REFUNDS = """Refunds go back to the card you paid with.

You can ask for a refund within 30 days of a charge in Settings > Billing > Request a refund. \
Refunds take 5 to 10 business days to reach your account."""


def test_a_short_passage_goes_on_with_the_next_best_sentences(embed):
    question = "Where does my refund go?"
    alone = Grounder.quote(grounder(embed, min_words=0).plan(ask(question), {1: REFUNDS}))
    filled = Grounder.quote(grounder(embed, min_words=30).plan(ask(question), {1: REFUNDS}))
    assert alone == "Refunds go back to the card you paid with [1]."
    assert filled.startswith(alone)
    assert "Request a refund" in filled
    assert len(filled.split()) >= 30


def test_one_name_the_knowledge_base_never_mentions_is_enough_to_decline(embedder):
    settings = AnswerSettings()
    grounder = Grounder(embedder.embed, settings, lambda: VOCABULARY, embedder.is_rare_word)
    bitcoin = grounder.plan(ask("Can I pay with Bitcoin?"), {1: PAYMENTS})
    assert not bitcoin.answerable and bitcoin.answerability.rare == ("bitcoin",)
    everyday = grounder.plan(ask("Can my wife pay with PayPal?"), {1: PAYMENTS})
    assert everyday.answerability.unknown == ("wife",) and everyday.answerability.rare == ()


def test_misspellings_of_known_words_are_not_unknown():
    assert unknown_terms(["recoveri", "acount", "bitcoin"], VOCABULARY) == ("bitcoin",)


def test_coverage_is_the_share_of_key_words_the_sources_contain():
    found = assess("reset hub lights", {1: "To reset the hub, hold the button."}, 0.9)
    assert found.missing == ("light",)
    assert round(found.coverage, 2) == 0.67


LINK_SECTION = """The reset link works for **60 minutes** and can be used only once. \
If you open an old link you will see error **E-303 (link expired)**; just request a new one."""

LINK_TICKET = """Customer message: I never got a single email. My email is j.okafor@mailbox.example.

Resolution: I'm sorry for the frustration. Reset links stay valid for 60 minutes, and you can \
request up to 5 reset emails per hour. I checked and your account is registered under \
jokafor@mailbox.example, without the dot, so the emails went to a different address. \
I've sent a fresh reset link to the correct address. \
It comes from no-reply@korvolabs.example, so check the spam folder for that sender."""


def test_a_manual_section_whose_heading_asks_the_question_is_quoted_first(embed):
    question = "How long is the password reset link valid?"
    sources = {1: LINK_SECTION, 2: LINK_TICKET}
    headings = {1: "Resetting your password > How long is the reset link valid?", 2: ""}
    plan = grounder(embed, min_words=0).plan(ask(question), sources, headings)
    assert plan.evidence[0].n == 1
    assert Grounder.quote(plan).startswith("The reset link works for **60 minutes**")
    without = grounder(embed, min_words=0).plan(ask(question), sources)
    assert without.evidence[0].n == 2  # the ticket's words match better without the heading


def test_a_past_reply_is_quoted_without_what_was_true_for_its_customer_only(embed):
    question = "Why do my password reset emails not arrive?"
    plan = grounder(embed, min_words=0, model_choices=4).plan(ask(question), {1: LINK_TICKET})
    quoted = [Grounder.quote(plan)] + [" ".join(e.text for e in span) for span in plan.alternatives]
    assert any("5 reset emails per hour" in text for text in quoted)
    assert any("no-reply@korvolabs.example" in text for text in quoted)  # a role address
    for only_theirs in ("jokafor", "registered under", "I've sent"):
        assert not any(only_theirs in text for text in quoted)


def test_a_sentence_two_sources_share_is_quoted_once(embed):
    shared = "Refunds take 5 to 10 business days to reach your account."
    sources = {1: REFUNDS, 2: f"Customer message: where is my money?\n\nResolution: {shared}"}
    quoted = Grounder.quote(
        grounder(embed, min_words=60).plan(ask("Where does my refund go?"), sources)
    )
    assert quoted.count("business days to reach your account") == 1
