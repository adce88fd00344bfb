"""The slides: the build runs from the repo's own code, every figure a deck shows exists and is
embedded, every number a deck quotes was measured by the build, the HTML loads nothing from a network,
every slide but the dividers has speaker notes, and in a browser nothing sticks out of a slide, nothing
overlaps, and no text (in the slide or in its figures) is smaller than 16 px on a 1024x768 screen.
One small build (WORKSHOP_SMALL=1, the shipped trained agent) serves every test here."""
import html
import importlib.util
import json
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
# Slides are laid out at 1280x720 and scaled to fit the window; on a 1024x768 screen (an old projector)
# the scale is 0.8, the smallest of the screens we present on. No text may fall under 16 px there.
SMALLEST_SCALE = min(1024 / 1280, 768 / 720)
SMALLEST_TEXT_PX = 16
MAX_MAZE_PANELS = 4


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


def chromium_or_skip():
    chromium = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if chromium is None:
        assert not os.environ.get("CI"), "Chromium is not installed: .ci/run should have installed it"
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return chromium


def deck_html(out):
    return [path for path in built_html(out) if os.path.basename(path).startswith("deck")]


def slides_of(path):
    """Each slide's HTML in a built deck, the deck's title slide first."""
    with open(path, encoding="utf-8") as file:
        return re.split(r"(?=<section[^>]*class=\"[^\"]*\bslide\b)", file.read())[1:]


def test_fill_in_numbers_replaces_every_placeholder_and_refuses_unknown_ones(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / build.NUMBERS_FILE).write_text(json.dumps({"exit_rate": "49.6%"}))
    deck = tmp_path / "deck.md"
    deck.write_text("It exits in {{exit_rate}} of mazes ({{ exit_rate }}).")
    assert build.fill_in_numbers(str(deck), str(tmp_path)) == "It exits in 49.6% of mazes (49.6%)."
    deck.write_text("It exits in {{exit_rate}}, harvests in {{human_rate}}.")
    with pytest.raises(SystemExit, match="human_rate"):
        build.fill_in_numbers(str(deck), str(tmp_path))


def test_every_quoted_number_was_measured_and_filled_in(built):
    with open(os.path.join(built, "figures", build.NUMBERS_FILE), encoding="utf-8") as file:
        numbers = json.load(file)
    quoted = set()
    for deck in build.deck_paths():
        with open(deck, encoding="utf-8") as file:
            quoted |= set(build.PLACEHOLDER.findall(file.read()))
    assert quoted, "no deck quotes a measured number: the placeholder pattern or the decks are broken"
    assert quoted <= set(numbers), f"quoted but never measured: {sorted(quoted - set(numbers))}"
    for path in built_html(built):
        with open(path, encoding="utf-8") as file:
            left = re.findall(r"\{\{[^}]*\}\}", file.read())
        assert not left, f"{os.path.basename(path)} still shows placeholders: {left[:5]}"


def test_every_slide_but_the_dividers_has_speaker_notes(built):
    for path in deck_html(built):
        for number, slide in enumerate(slides_of(path), 1):
            divider = re.search(r'class="[^"]*\b(title-slide|deck-title)\b', slide)
            assert divider or 'class="notes"' in slide, (
                f"slide {number} of {os.path.basename(path)} has no speaker notes (::: notes in the deck)")


def test_handout_math_is_mathml_and_no_asterisk_turns_into_italics(built):
    with open(os.path.join(built, "conceptual_exercises.html"), encoding="utf-8") as file:
        handout = file.read()
    assert handout.count("<math") >= 10, "the handout's formulas are not rendered as MathML"
    text = re.sub(r"<math.*?</math>", "", handout, flags=re.DOTALL)
    assert not re.search(r"Q<em>|V<em>|</em>\(s", text), "a Q* or V* became italics: write it as math, $Q^*$"


def audit(chromium, deck, tmp_path):
    """What slides.js measures in audit mode (deck.html?audit), for every slide of a built deck."""
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / ('audit-' + os.path.basename(deck))}", "--window-size=1280,720",
               "--virtual-time-budget=10000", "--dump-dom", f"file://{deck}?audit"]
    page = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'<pre id="audit-result">(.*?)</pre>', page, re.DOTALL)
    assert found, f"slides.js wrote no audit for {os.path.basename(deck)}"
    return json.loads(html.unescape(found.group(1)))["slides"]


def test_slides_fit_do_not_overlap_and_read_at_16_px_on_a_1024x768_screen(built, tmp_path):
    chromium = chromium_or_skip()
    with open(os.path.join(built, "figures", "figure_facts.json"), encoding="utf-8") as file:
        facts = json.load(file)
    problems = []
    for deck in deck_html(built):
        name = os.path.basename(deck)
        with open(os.path.join(build.PRESENTATION_DIR, name.replace(".html", ".md")), encoding="utf-8") as file:
            images = iter(build.referenced_images(file.read()))  # in the order the slides show them
        for slide in audit(chromium, deck, tmp_path):
            where = f"{name} slide {slide['number']} ({slide['title']})"
            problems += [f"{where}: sticks out of the slide: {text!r}" for text in slide["outside"][:3]]
            problems += [f"{where}: {first!r} overlaps {second!r}" for first, second in slide["overlaps"]]
            smallest = slide["smallestText"]
            if smallest and smallest["px"] * SMALLEST_SCALE < SMALLEST_TEXT_PX:
                problems.append(f"{where}: text of {smallest['px'] * SMALLEST_SCALE:.1f} px at 1024x768: "
                                f"{smallest['text']!r}")
            for image in slide["images"]:
                figure = os.path.basename(next(images))
                assert figure in facts, f"{where} shows {figure}, which slide_figures.py did not make"
                (natural_width, natural_height), (box_width, box_height) = image["natural"], image["drawn"]
                painted = min(box_width / natural_width, box_height / natural_height)  # object-fit: contain
                text = facts[figure]["smallest_text_px"] * painted * SMALLEST_SCALE
                if text < SMALLEST_TEXT_PX:
                    problems.append(f"{where}: {figure}'s smallest text is drawn at {text:.1f} px at 1024x768")
                if facts[figure]["maze_panels"] > MAX_MAZE_PANELS:
                    problems.append(f"{where}: {figure} has {facts[figure]['maze_panels']} maze panels")
    assert not problems, "\n".join(problems)


def test_runbook_schedules_add_up():
    """Each schedule's start times follow from the minutes before them, and its total is their sum."""
    with open(os.path.join(build.PRESENTATION_DIR, "RUNBOOK.md"), encoding="utf-8") as file:
        runbook = file.read()
    schedules = re.findall(r"### (.+?)\n(.*?)(?=\n### |\n## )", runbook, re.DOTALL)
    assert len(schedules) == 2, "expected a half-day and a full-day schedule"
    for name, table in schedules:
        rows = re.findall(r"^\| (\d+):(\d\d) \|.*\| (\d+) \|$", table, re.MULTILINE)
        total = re.search(r"\*\*total\*\*.*\*\*(\d+)\*\*", table)
        assert rows and total, f"no timed rows or no total in {name!r}"
        clock = 0
        for hours, minutes, length in rows:
            assert int(hours) * 60 + int(minutes) == clock, f"{name!r}: the row at {hours}:{minutes} should start at {clock} min"
            clock += int(length)
        assert clock == int(total.group(1)), f"{name!r}: rows add up to {clock} min, the total says {total.group(1)}"


def machine_times(path):
    """The "| what | time |" table of a Markdown file, as text."""
    with open(path, encoding="utf-8") as file:
        found = re.search(r"^\| what \| time \|\n(?:\|.*\|\n)+", file.read(), re.MULTILINE)
    assert found, f"{os.path.basename(path)} has no machine-times table"
    return found.group(0)


def test_runbook_and_readme_quote_the_same_machine_times():
    """Both are copied from one run of benchmarks/bench_times.py; a presenter and a newcomer read the same times."""
    assert (machine_times(os.path.join(build.PRESENTATION_DIR, "RUNBOOK.md"))
            == machine_times(os.path.join(build.REPO, "README.md")))
