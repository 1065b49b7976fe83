"""The README and docs/ link to files and headings that exist, so moving a section cannot leave a dead link."""
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")


def _prose(text: str) -> str:
    """The page without its fenced code blocks, where `#` starts a comment and `](` is code."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def anchors(text: str) -> Iterator[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#+ (.+)$", _prose(text), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        yield slug if seen[slug] == 0 else f"{slug}-{seen[slug]}"


def test_anchors_follow_githubs_rule():
    text = "# Ablations: `ganforge ablate`\n```\n# a comment\n```\n## Tricks at 300 s\n## Tricks at 300 s\n"
    assert list(anchors(text)) == ["ablations-ganforge-ablate", "tricks-at-300-s", "tricks-at-300-s-1"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    dead = []
    for match in LINK.finditer(_prose(page.read_text())):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z]+:", target):
            continue  # a web address: not checked offline
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            dead.append(target)
        elif fragment and file.suffix == ".md" and fragment not in set(anchors(file.read_text())):
            dead.append(target)
    assert not dead, f"{page.name}: links to nothing: {dead}"
