"""The code blocks of a README section, so that tests run exactly what the README shows."""
from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def code_blocks(heading: str, language: str = "python") -> list[str]:
    """The ``language`` code blocks under the README heading ``heading``, up to the next heading of any level."""
    blocks: list[str] = []
    inside_section = False
    fence: list[str] | None = None  # the lines of the open block (None: outside a block)
    fence_language = ""
    for line in README.read_text().splitlines():
        if fence is None and line.startswith("#"):  # a heading (a '#' inside a code block is a comment)
            if inside_section:
                break
            inside_section = line == heading
        elif inside_section and line.startswith("```"):
            if fence is None:
                fence, fence_language = [], line[3:].strip()
            else:
                if fence_language == language:
                    blocks.append("\n".join(fence) + "\n")
                fence = None
        elif fence is not None:
            fence.append(line)
    return blocks
