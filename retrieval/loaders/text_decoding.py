"""Turn file bytes into text, refusing binary files and falling back for legacy encodings."""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.loaders.document import LoadError

_BINARY_PROBE_BYTES = 8192
_FALLBACK_ENCODINGS = ("cp1252", "latin-1")  # latin-1 decodes any byte sequence


@dataclass(frozen=True)
class DecodedText:
    text: str
    warning: str | None = None


def looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:_BINARY_PROBE_BYTES]


def decode_text(data: bytes) -> DecodedText:
    if not data.strip():
        raise LoadError("file is empty; add content to it or leave it out")
    if looks_binary(data):
        raise LoadError(
            "looks like a binary file, not text; convert it to .txt/.md/.pdf or leave it out"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        for encoding in _FALLBACK_ENCODINGS:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            return DecodedText(
                text,
                warning=(
                    f"not valid UTF-8 (byte {data[error.start]:#04x} at offset {error.start}); "
                    f"decoded as {encoding} and indexed: re-save it as UTF-8 if characters "
                    "look wrong"
                ),
            )
        raise LoadError("cannot decode text; re-save it as UTF-8") from error
    if not text.strip():
        raise LoadError("file is empty; add content to it or leave it out")
    return DecodedText(text)
