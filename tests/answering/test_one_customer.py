"""What a past reply said that was true for its customer only, and what stays quotable."""

import pytest

from assistant.answering.one_customer import for_any_customer

KEPT = [
    "I'm sorry for the worry.",
    "I'd recommend an authenticator app.",
    "We'll verify your identity by email.",
    "It comes from no-reply@korvolabs.example, so check the spam folder.",
    "Reset links stay valid for 60 minutes.",
]
DROPPED = [
    "I've refunded the full €7.99 to your card.",
    "I can see your renewal on 14 April failed.",
    "I checked the camera's last readings: its signal is -79 dBm.",
    "I'll escalate this to our billing team.",
    "We open an investigation with the carrier, which I've now done.",
    "Your account is registered under jokafor.home@mailbox.example.",
    "Hi Sarah, thanks for the photos.",
]


@pytest.mark.parametrize("sentence", KEPT)
def test_advice_apologies_and_role_addresses_stay(sentence):
    assert for_any_customer(sentence) == sentence


@pytest.mark.parametrize("sentence", DROPPED)
def test_what_the_agent_did_or_saw_and_personal_data_go(sentence):
    assert for_any_customer(sentence) is None


def test_a_step_before_a_claim_about_the_account_stays():
    sentence = (
        'Tap "Can\'t get a code?" and choose "Request account recovery"; '
        "I can see the request is now open on your account."
    )
    assert for_any_customer(sentence) == (
        'Tap "Can\'t get a code?" and choose "Request account recovery".'
    )
