"""Text extraction and chunking for vector-store files. Pure and blocking: run in a thread.

Supported: plain text (and other `text/*`), Markdown, JSON, CSV, HTML and PDF (pypdf).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any

DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP = 800, 400  # OpenAI's "auto" chunking strategy
MIN_MAX_TOKENS, MAX_MAX_TOKENS = 100, 4096
WORD = re.compile(r"\S+")
EXTENSIONS = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".json": "application/json",
    ".csv": "text/csv",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
    ".rst": "text/plain",
    ".py": "text/x-python",
    ".log": "text/plain",
}


class ExtractionError(ValueError):
    """The file's content cannot be turned into text; the message becomes `last_error`."""


@dataclass(frozen=True)
class Chunking:
    max_tokens: int = DEFAULT_MAX_TOKENS
    overlap: int = DEFAULT_OVERLAP


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    tokens: int


def parse_chunking(strategy: Any) -> Chunking:
    """OpenAI's `{"type": "auto"}` or `{"type": "static", "static": {...}}`; ValueError says why."""
    if strategy is None or strategy == {"type": "auto"}:
        return Chunking()
    if not isinstance(strategy, dict) or strategy.get("type") != "static" or set(strategy) - {"type", "static"}:
        raise ValueError('chunking_strategy must be {"type": "auto"} or {"type": "static", "static": {...}}.')
    static = strategy.get("static")
    if not isinstance(static, dict):
        raise ValueError("chunking_strategy.static must be an object.")
    size, overlap = static.get("max_chunk_size_tokens"), static.get("chunk_overlap_tokens", 0)
    if not isinstance(size, int) or not MIN_MAX_TOKENS <= size <= MAX_MAX_TOKENS:
        raise ValueError(f"max_chunk_size_tokens must be an integer {MIN_MAX_TOKENS}-{MAX_MAX_TOKENS}.")
    if not isinstance(overlap, int) or not 0 <= overlap <= size // 2:
        raise ValueError("chunk_overlap_tokens must be an integer between 0 and half the chunk size.")
    return Chunking(size, overlap)


def kind_of(mime: str | None, filename: str) -> str:
    base = (mime or "").split(";", 1)[0].strip().lower()
    if base in ("", "application/octet-stream"):
        base = EXTENSIONS.get(PurePosixPath(filename.lower()).suffix, base)
    return base


def extract_text(data: bytes, mime: str | None, filename: str) -> str:
    kind = kind_of(mime, filename)
    if kind == "application/pdf":
        return _pdf(data)
    if kind in ("text/html", "application/xhtml+xml"):
        return _html(_decode(data))
    if kind == "application/json":
        return _json(_decode(data))
    if kind == "text/csv":
        return _csv(_decode(data))
    if kind.startswith("text/") or kind in ("application/xml", "application/typescript", "application/x-sh"):
        return _decode(data)
    raise ExtractionError(f"Unsupported file type for text extraction: {kind or 'unknown'}.")


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise ExtractionError("File looks binary, not text.")
    return data.decode("utf-8-sig", errors="replace")


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ExtractionError(f"Could not read PDF: {exc}") from None


class _TextOfHtml(HTMLParser):
    SKIP = {"script", "style", "noscript", "template"}
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _html(text: str) -> str:
    parser = _TextOfHtml()
    parser.feed(text)
    parser.close()
    return re.sub(r"\n\s*\n+", "\n\n", "".join(parser.parts)).strip()


MAX_JSON_DEPTH = 100  # a document's keys become paths: deeper is not text anyone searches


def _json(text: str) -> str:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExtractionError(f"Invalid JSON: {exc.msg} at line {exc.lineno}.") from None
    except RecursionError:
        raise ExtractionError(f"Invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels.") from None
    lines: list[str] = []

    def walk(v: Any, path: str, depth: int) -> None:
        if depth > MAX_JSON_DEPTH:
            raise ExtractionError(f"Invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(v, dict):
            for k, item in v.items():
                walk(item, f"{path} / {k}" if path else str(k), depth + 1)
        elif isinstance(v, list):
            for i, item in enumerate(v):
                walk(item, f"{path}[{i}]", depth + 1)
        elif v is not None:
            lines.append(f"{path}: {v}" if path else str(v))

    walk(value, "", 0)
    return "\n".join(lines)


def _csv(text: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return ""
    header, lines = rows[0], []
    for row in rows[1:]:
        lines.append(", ".join(f"{h}: {v}" for h, v in zip(header, row, strict=False) if v))
    return "\n".join(lines) if lines else ", ".join(header)


def chunk_text(text: str, chunking: Chunking) -> list[Chunk]:
    """Windows of `max_tokens` words overlapping by `overlap`, cut from the original text so
    that line breaks survive. Words stand in for tokens: no tokenizer download is needed."""
    spans = [m.span() for m in WORD.finditer(text)]
    if not spans:
        return []
    step = max(1, chunking.max_tokens - chunking.overlap)
    chunks: list[Chunk] = []
    start = 0
    while True:
        window = spans[start : start + chunking.max_tokens]
        chunks.append(Chunk(len(chunks), text[window[0][0] : window[-1][1]], len(window)))
        if start + chunking.max_tokens >= len(spans):
            return chunks
        start += step


def extract_and_chunk(data: bytes, mime: str | None, filename: str, chunking: Chunking) -> tuple[str, list[Chunk]]:
    text = extract_text(data, mime, filename)
    chunks = chunk_text(text, chunking)
    if not chunks:
        raise ExtractionError("No text could be extracted from the file.")
    return text, chunks
