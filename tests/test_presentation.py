"""The slides: the build runs from the repo's own code, every figure a deck shows exists and is
embedded, the HTML loads nothing from a network, and a browser draws something on the first slide.
One small build (WORKSHOP_SMALL=1, the shipped trained agent) serves every test here."""
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_SCRIPT = os.path.join(REPO, "presentation", "build.py")
spec = importlib.util.spec_from_file_location("presentation_build", BUILD_SCRIPT)
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# What a page would fetch: src/href attributes and CSS url()/@import pointing at http(s) or a
# protocol-relative //host. XML namespaces (xmlns="http://...") name things and fetch nothing.
REMOTE_REFERENCE = re.compile(r"""(?:\b(?:src|href|srcset|poster|data)\s*=\s*["']?\s*|url\(\s*["']?\s*|@import\s+["']?)"""
                              r"""(?:https?:|//)""", re.IGNORECASE)
SCREENSHOT_SIZE = (1280, 720)


def built_html(out):
    return [os.path.join(out, os.path.splitext(os.path.basename(source))[0] + ".html")
            for source in build.deck_paths() + [os.path.join(build.PRESENTATION_DIR, name) for name in build.HANDOUTS]]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("slides")
    # One torch thread, as in conftest.py: two would spin against whatever else shares the 2 cores.
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, BUILD_SCRIPT, "--small", "--out", str(out)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"presentation/build.py failed:\n{result.stdout}{result.stderr}"
    return out


def test_every_deck_and_handout_is_built(built):
    assert build.deck_paths(), "no presentation/deck*.md found"
    for path in built_html(built):
        assert os.path.getsize(path) > 0, f"{path} is missing or empty"


def test_image_parser_finds_markdown_and_html_images_but_not_commented_ones():
    deck = ('![a maze](figures/a.png "title")\n<!-- ![](figures/placeholder.png) -->\n'
            '<img class="wide" src="figures/b.gif">')
    assert build.referenced_images(deck) == ["figures/a.png", "figures/b.gif"]


def test_every_image_a_deck_refers_to_exists_and_is_embedded(built):
    for deck in build.deck_paths():
        with open(deck, encoding="utf-8") as file:
            images = build.referenced_images(file.read())
        assert images, f"{deck} shows no figure: the image parser or the deck is broken"
        for image in images:
            assert os.path.isfile(os.path.join(built, image)), f"{os.path.basename(deck)} refers to {image}, not built"
    for path in built_html(built):
        with open(path, encoding="utf-8") as file:
            sources = re.findall(r"<img[^>]*\ssrc=\"([^\"]*)\"", file.read())
        not_embedded = [source[:80] for source in sources if not source.startswith("data:")]
        assert not not_embedded, f"{os.path.basename(path)} links images instead of embedding them: {not_embedded}"


def test_remote_reference_pattern_catches_what_a_browser_would_fetch():
    fetched = ['<img src="https://example.org/a.png">', "<script src='//cdn.example.org/x.js'>",
               '<link href="http://example.org/s.css">', "@import url(https://fonts.example.org/f.css);",
               "background: url( 'http://example.org/b.png')", '@import "https://example.org/c.css";']
    harmless = ['<math xmlns="http://www.w3.org/1998/Math/MathML">', '<img src="data:image/png;base64,AAAA">',
                "see https://example.org in the text"]
    assert all(REMOTE_REFERENCE.search(text) for text in fetched)
    assert not any(REMOTE_REFERENCE.search(text) for text in harmless)


def test_built_html_references_nothing_remote(built):
    for path in built_html(built):
        with open(path, encoding="utf-8") as file:
            html = file.read()
        remote = [html[max(0, m.start() - 40):m.end() + 40] for m in REMOTE_REFERENCE.finditer(html)]
        assert not remote, f"{os.path.basename(path)} would fetch from a network: {remote}"


def first_figure_slide(deck):
    """1-based number of the first slide with an image in a built deck (slide 1 is its title)."""
    with open(deck, encoding="utf-8") as file:
        html = file.read()
    slides = re.split(r"<section[^>]*class=\"[^\"]*\bslide\b", html)[1:]
    return next(number for number, slide in enumerate(slides, 1) if "<img" in slide)


def screenshot(chromium, url, path, tmp_path):
    """Headless Chromium's picture of `url`, with flags that keep it off the network and out of any
    existing profile."""
    profile = tmp_path / f"profile-{os.path.basename(path)}"
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", f"--screenshot={path}",
               f"--window-size={SCREENSHOT_SIZE[0]},{SCREENSHOT_SIZE[1]}", url]
    subprocess.run(command, capture_output=True, timeout=120)
    assert os.path.exists(path), f"Chromium made no screenshot of {url}"
    return Image.open(path).convert("RGB")


def test_slides_are_drawn_in_headless_chromium(built, tmp_path):
    chromium = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if chromium is None:
        # CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
        assert not os.environ.get("CI"), "Chromium is not installed: .ci/run should have installed it"
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    decks = [path for path in built_html(built) if os.path.basename(path).startswith("deck")]
    for deck, slide in [(deck, slide) for deck in decks for slide in (1, first_figure_slide(deck))]:
        name = f"{os.path.splitext(os.path.basename(deck))[0]}-{slide}.png"
        picture = screenshot(chromium, f"file://{deck}#{slide}", str(tmp_path / name), tmp_path)
        colours = picture.getcolors(maxcolors=SCREENSHOT_SIZE[0] * SCREENSHOT_SIZE[1])
        most_common_share = max(count for count, _ in colours) / (picture.width * picture.height)
        # A blank or broken page is one colour, or nearly (a lone slide number); a title in big letters
        # already adds hundreds of anti-aliased shades and covers a few percent of the page.
        assert len(colours) > 50 and most_common_share < 0.99, (
            f"slide {slide} of {os.path.basename(deck)} looks blank: {len(colours)} colours, "
            f"the commonest covers {most_common_share:.1%}")
