import csv
import json

import pytest

from tuning.seed import read_ticket_seeds

COLUMNS = [
    "ticket_id",
    "subject",
    "customer_message",
    "resolution",
    "category",
    "product",
    "created_at",
]


def write_csv(path, rows, columns=COLUMNS):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def ticket(tid, message, resolution):
    return {
        "ticket_id": tid,
        "subject": "s",
        "customer_message": message,
        "resolution": resolution,
        "category": "network",
        "product": "Router X",
        "created_at": "2024-03-01",
    }


def test_csv_tickets_become_good_seed_rows(tmp_path):
    path = tmp_path / "tickets.csv"
    write_csv(
        path,
        [
            ticket("T-1", "My router, model X, keeps\nrebooting.", "Update the firmware to 2.1."),
            ticket("T-2", "Wifi is slow", ""),
            ticket("T-3", "How do I change the SSID?", "Open Settings > Wireless."),
        ],
    )
    result = read_ticket_seeds(path)
    assert [r.conversation_id for r in result.rows] == ["ticket:T-1", "ticket:T-3"]
    first = result.rows[0]
    assert first.messages == (
        {"role": "user", "content": "My router, model X, keeps\nrebooting."},
        {"role": "assistant", "content": "Update the firmware to 2.1."},
    )
    assert first.rating == "good" and first.origin == "seed"
    assert result.skipped == ["record 2: empty resolution"]


def test_jsonl_tickets_with_custom_fields(tmp_path):
    path = tmp_path / "tickets.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"id": 7, "question": "Reset password?", "answer": "Use the link."}),
                "not json",
                "",
                json.dumps({"id": 8, "question": "", "answer": "x"}),
            ]
        ),
        encoding="utf-8",
    )
    result = read_ticket_seeds(
        path, id_field="id", question_field="question", answer_field="answer"
    )
    assert [r.conversation_id for r in result.rows] == ["ticket:7"]
    assert result.rows[0].target == "Use the link."
    assert result.skipped == ["record 2: not a JSON object", "record 3: empty question"]


def test_csv_without_a_required_column_is_an_error(tmp_path):
    path = tmp_path / "tickets.csv"
    write_csv(path, [{"ticket_id": "1", "subject": "s"}], columns=["ticket_id", "subject"])
    with pytest.raises(ValueError, match="customer_message, resolution"):
        read_ticket_seeds(path)
