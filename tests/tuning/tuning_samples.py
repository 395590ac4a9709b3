"""Sample feedback rows shared by the tuning tests."""

from __future__ import annotations


def feedback_rows_jsonl(count: int = 12) -> list[dict]:
    """Feedback file rows: good answers, corrected bad answers, one bad without correction."""
    rows = []
    for i in range(count):
        question = f"Customer {i}: why is my camera number {i} offline?"
        row = {
            "messages": [
                {"role": "user", "content": question},
                {"role": "assistant", "content": f"Check the Wi-Fi signal near camera {i}."},
            ],
            "rating": "good" if i % 3 == 0 else "bad",
            "conversation_id": f"file-{i}",
        }
        if i % 3 == 1:
            row["correction"] = f"Restart camera {i} and check the Wi-Fi signal [1]."
            row["reason"] = "incomplete"
            row["sources"] = [
                {"n": 1, "title": "Camera > Offline", "source": "cam.md", "text": "Restart it."}
            ]
        rows.append(row)
    return rows
