"""The slides: the build runs from the repo's own code, every figure a deck shows exists and is embedded,
every number a deck quotes was measured by the build and rounded by one rule, no slide mixes two meanings of
"%", the HTML loads nothing from a network, every slide but the dividers has speaker notes, the story keeps its
order (a prediction before the new site's results, no hint of act 2's trigger before the learners' guess, every
exercise named on a "Your turn" slide), and in a browser (Debian's Chromium driven by Playwright), on a 1024x768
screen and on a 1280x720 one, the slides fill the screen with no dark band, nothing sticks out of a slide,
nothing overlaps, no text (in the slide or in its figures) is smaller than 16 px, every maze is drawn at least
MIN_MAZE_PX wide, and every slide's notes fit in the notes view (`n`). One small build (WORKSHOP_SMALL=1, the
shipped agents and the results/ files) serves every test here."""
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
# The screens we present on: an old 4:3 projector and the smallest 16:9 one. Slides are laid out at 1280x720 or
# larger in the screen's proportions and scaled to fill it, so every size below is in screen pixels.
SCREENS = ((1024, 768), (1280, 720))
NOTES_SCREEN = (1024, 768)
SMALLEST_TEXT_PX = 16
MAX_MAZE_PANELS = 4
MIN_MAZE_PX = 250  # a 7x7 maze this wide draws a human's H about 16 px tall: readable from the back row
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\\?%")
ONE_RULE = re.compile(r"^\d{1,3}\.\d$")  # the one rounding rule: one decimal (97.9%, 100.0%, 0.0%)
# Words that name act 2's trigger: none may appear before the slide where the learners write their guess.
TRIGGER_WORDS = re.compile(r"\bposts?\b|protru|sticks? out|stick out|lattice|single block|one block|odd row|"
                           r"wall'?s? end|broken wall|open(?:ed)? post", re.IGNORECASE)
GUESS_SLIDE = "Your guess"


def built_html(out):
    return [os.path.join(out, os.path.splitext(os.path.basename(source))[0] + ".html")
            for source in build.deck_paths() + [os.path.join(build.PRESENTATION_DIR, name) for name in build.HANDOUTS]]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("slides")
    # One torch thread, as in conftest.py: two would spin against whatever else shares the 2 cores.
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, BUILD_SCRIPT, "--small", "--out", str(out)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"presentation/build.py failed:\n{result.stdout}{result.stderr}"
    return out


def read_json(built, name):
    with open(os.path.join(built, "figures", name), encoding="utf-8") as file:
        return json.load(file)


# %% The decks as Markdown: slides, their visible text and their notes

def deck_sources():
    return build.deck_paths()


def markdown_slides(path):
    """[(title, visible text, notes)] for every slide of a deck's Markdown, dividers included (their text is '')."""
    with open(path, encoding="utf-8") as file:
        text = file.read().split("\n---\n", 1)[-1]  # past the front matter
    slides = []
    for chunk in re.split(r"^(?=#{1,2} )", text, flags=re.MULTILINE):
        if not chunk.startswith("#"):
            continue
        title, _, body = chunk.partition("\n")
        notes = "\n".join(re.findall(r"^::: notes\n(.*?)^:::$", body, re.DOTALL | re.MULTILINE))
        visible = re.sub(r"^::: notes\n.*?^:::$", "", body, flags=re.DOTALL | re.MULTILINE)
        slides.append((title.lstrip("# ").strip(), visible, notes))
    return slides


def test_markdown_slides_parser_separates_text_and_notes(tmp_path):
    deck = tmp_path / "deck.md"
    deck.write_text("---\ntitle: x\n---\n\n# Part\n\n## One\n\nShown {{a}}.\n\n::: notes\nHidden {{b}}.\n:::\n\n"
                    "## Two\n\n![](figures/f.png)\n")
    assert markdown_slides(str(deck)) == [("Part", "\n", ""), ("One", "\nShown {{a}}.\n\n\n\n", "Hidden {{b}}.\n"),
                                          ("Two", "\n![](figures/f.png)\n", "")]


# %% The build

def test_every_deck_and_handout_is_built(built):
    assert len(build.deck_paths()) == 2, "expected two decks: deck1_*.md (act 1) and deck2_*.md (act 2)"
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
            html_text = file.read()
        remote = [html_text[max(0, m.start() - 40):m.end() + 40] for m in REMOTE_REFERENCE.finditer(html_text)]
        assert not remote, f"{os.path.basename(path)} would fetch from a network: {remote}"


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
    numbers = read_json(built, build.NUMBERS_FILE)
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


def test_no_line_starts_with_a_number_that_markdown_would_read_as_a_list(built):
    """A line that starts with {{name}}. or {{name}}) becomes "8." or "8)" once filled in: an ordered list item."""
    numbers = read_json(built, build.NUMBERS_FILE)
    for path in build.deck_paths() + [os.path.join(build.PRESENTATION_DIR, name) for name in build.HANDOUTS]:
        with open(path, encoding="utf-8") as file:
            lines = [line for line in file if line.lstrip().startswith("{{")]
        filled = [build.PLACEHOLDER.sub(lambda match: numbers.get(match.group(1), "x"), line) for line in lines]
        listed = [line.strip() for line in filled if re.match(r"^\s*\d{1,9}[.)](\s|$)", line)]
        assert not listed, f"{os.path.basename(path)}: rewrap so that these lines do not start with a number: {listed}"


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


def test_handout_answers_are_folded_away(built):
    with open(os.path.join(build.PRESENTATION_DIR, "conceptual_exercises.md"), encoding="utf-8") as file:
        handout = file.read()
    questions = re.findall(r"^\*\*(\d+)\.\*\*", handout, re.MULTILINE)
    assert [int(number) for number in questions] == list(range(1, len(questions) + 1)), "questions are not numbered 1, 2, ..."
    assert handout.count("<details>") == handout.count("</details>") == len(questions), "every question needs one folded answer"


# %% Numbers: one rounding rule, one meaning of "%" a slide

def test_every_rate_is_rounded_by_one_rule(built):
    """A number reads the same on every slide and in every figure: one decimal, as the notebook prints it."""
    numbers, facts = read_json(built, build.NUMBERS_FILE), read_json(built, "figure_facts.json")
    written = [(f"numbers.json {name}", value) for name, value in numbers.items()]
    written += [(f"figure {figure}", text) for figure, fact in facts.items() for text in fact["percentages"]]
    broken = [(where, text) for where, text in written for value in PERCENT.findall(text) if not ONE_RULE.match(value)]
    assert not broken, f"rates not written as percent() writes them (one decimal): {broken[:10]}"


def test_every_percentage_says_what_it_is_a_share_of(built):
    numbers, kinds = read_json(built, build.NUMBERS_FILE), read_json(built, "percent_of.json")
    unknown = [name for name, value in numbers.items() if "%" in value and name not in kinds]
    assert not unknown, f"numbers with a '%' but no entry in percent_of.json: {unknown}"
    facts = read_json(built, "figure_facts.json")
    unknown = [figure for figure, fact in facts.items() if fact["percentages"] and not fact["percent_of"]]
    assert not unknown, f"figures with percentages that do not say what they are a share of: {unknown}"


def test_no_slide_mixes_two_meanings_of_percent(built):
    """Every percentage on a slide (in its text, its tables and its figure) is a share of one kind of thing:
    mazes, or placements, or edits..., never two of them. A '%' typed into the deck counts as a kind of its own."""
    kinds, facts = read_json(built, "percent_of.json"), read_json(built, "figure_facts.json")
    mixed = []
    for deck in deck_sources():
        for title, visible, _ in markdown_slides(deck):
            meanings = {kinds[name] for name in build.PLACEHOLDER.findall(title + visible) if name in kinds}
            meanings |= {facts[os.path.basename(image)]["percent_of"] for image in build.referenced_images(visible)
                         if facts.get(os.path.basename(image), {}).get("percent_of")}
            if PERCENT.search(build.PLACEHOLDER.sub("", title + visible)):
                meanings.add("typed into the deck")
            if len(meanings) > 1:
                mixed.append(f"{os.path.basename(deck)}, {title!r}: {sorted(meanings)}")
    assert not mixed, "slides that mix meanings of '%':\n" + "\n".join(mixed)


# %% The story's order

def slide_titles(deck):
    return [title for title, _, _ in markdown_slides(deck)]


def test_the_room_predicts_before_the_new_site_results():
    deck1 = deck_sources()[0]
    slides = markdown_slides(deck1)
    titles = [title for title, _, _ in slides]
    predict = titles.index("Predict first")
    first_result = next(index for index, (_, visible, _) in enumerate(slides) if "slide_new_site.png" in visible)
    probe = next(index for index, title in enumerate(titles) if title.startswith("Your turn") and index > predict)
    assert predict < probe < first_result, "predict first, then probe in the notebook, then the answer"


def test_nothing_names_act_2s_trigger_before_the_learners_guess(built):
    """Deck 1, and deck 2 up to the slide where learners write their guess: no word for the shape, and no figure
    with the dashed outline that marks the opened post."""
    facts = read_json(built, "figure_facts.json")
    deck1, deck2 = deck_sources()
    slides = markdown_slides(deck1) + markdown_slides(deck2)
    guess = len(markdown_slides(deck1)) + slide_titles(deck2).index(GUESS_SLIDE)
    found = []
    for index, (title, visible, notes) in enumerate(slides[:guess + 1]):
        words = TRIGGER_WORDS.findall(title + visible + notes)
        if words:
            found.append(f"{title!r} says {words}")
        if index >= len(markdown_slides(deck1)):  # act 2's figures; act 1's outline the old corner, which is its point
            found += [f"{title!r} shows {image}, which outlines {facts[os.path.basename(image)]['outlined_cells']} cells"
                      for image in build.referenced_images(visible) if facts[os.path.basename(image)]["outlined_cells"]]
    assert not found, "act 2's trigger shows before the guess:\n" + "\n".join(found)


def exercises():
    with open(os.path.join(REPO, "solutions.py"), encoding="utf-8") as file:
        return re.findall(r"# BEGIN exercise (\w+)", file.read())


def test_every_exercise_is_named_on_a_your_turn_slide_in_the_notebooks_order():
    named = []
    for deck in deck_sources():
        for title, visible, _ in markdown_slides(deck):
            if title.startswith("Your turn"):
                named += [name for name in re.findall(r"`(\w+)", visible) if name in exercises()]
                assert re.search(r"[Ss]ections? \*\*\d+", visible), f"{title!r} names no notebook section"
    assert named == exercises(), f"Your turn slides name {named}, the notebook's exercises are {exercises()}"


def test_the_suspects_include_the_starting_weights():
    deck2 = deck_sources()[1]
    suspects = next(visible for title, visible, _ in markdown_slides(deck2) if title == "What went wrong?")
    assert "starting weights" in suspects


# %% In a browser

# Flags that keep the browser off the network and out of any existing profile, as in test_playground.py.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, driven by Playwright (no browser download), with a viewport of exactly the screen asked."""
    chromium = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if chromium is None:
        # CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
        assert not os.environ.get("CI"), "Chromium is not installed: .ci/run should have installed it"
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_deck(browser, url, size):
    """A fresh tab of `size` showing `url`, and the list of anything it tried to fetch from a network."""
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    fetched = []
    page.on("request", lambda request: fetched.append(request.url)
            if not request.url.startswith(("file:", "data:", "about:")) else None)
    page.goto(url)
    return page, fetched


def deck_html(out):
    return [path for path in built_html(out) if os.path.basename(path).startswith("deck")]


def slides_of(path):
    """Each slide's HTML in a built deck, the deck's title slide first."""
    with open(path, encoding="utf-8") as file:
        return re.split(r"(?=<section[^>]*class=\"[^\"]*\bslide\b)", file.read())[1:]


def first_figure_slide(deck):
    """1-based number of the first slide with an image in a built deck (slide 1 is its title)."""
    return next(number for number, slide in enumerate(slides_of(deck), 1) if "<img" in slide)


def test_slides_are_drawn_and_fill_the_screen_with_no_dark_bands(built, browser, tmp_path):
    for size in SCREENS:
        for deck in deck_html(built):
            for slide in (1, first_figure_slide(deck)):
                page, fetched = open_deck(browser, f"file://{deck}#{slide}", size)
                path = tmp_path / f"{os.path.splitext(os.path.basename(deck))[0]}-{slide}-{size[0]}x{size[1]}.png"
                page.wait_for_timeout(200)
                page.screenshot(path=str(path))
                page.close()
                assert not fetched, f"{os.path.basename(deck)} fetched {fetched}"
                picture = Image.open(path).convert("RGB")
                where = f"slide {slide} of {os.path.basename(deck)} at {size[0]}x{size[1]}"
                assert picture.size == size, f"{where}: the screenshot is {picture.size}"
                colours = picture.getcolors(maxcolors=picture.width * picture.height)
                most_common_share = max(count for count, _ in colours) / (picture.width * picture.height)
                # A blank or broken page is one colour, or nearly (a lone slide number); a title in big letters
                # already adds hundreds of anti-aliased shades and covers a few percent of the page.
                assert len(colours) > 50 and most_common_share < 0.99, (
                    f"{where} looks blank: {len(colours)} colours, the commonest covers {most_common_share:.1%}")
                # A letterbox is a band of dark rows (or columns) at an edge of the screen.
                grey = picture.convert("L")
                edges = [grey.crop(box) for box in ((0, 0, size[0], 8), (0, size[1] - 8, size[0], size[1]),
                                                    (0, 0, 8, size[1]), (size[0] - 8, 0, size[0], size[1]))]
                dark = [edge.size for edge in edges if sum(edge.tobytes()) / (edge.width * edge.height) < 60]
                assert not dark, f"{where} has a dark band at an edge of the screen: {dark}"


def audit(browser, deck, size):
    """What slides.js measures in audit mode (deck.html?audit) for every slide of a built deck, on a screen of
    `size` CSS pixels."""
    page, fetched = open_deck(browser, f"file://{deck}?audit", size)
    page.wait_for_selector("#audit-result", state="attached", timeout=60_000)
    result = json.loads(page.inner_text("#audit-result"))
    page.close()
    assert not fetched, f"{os.path.basename(deck)} fetched {fetched}"
    assert result["window"] == list(size), f"asked for a {size} screen, the page saw {result['window']}"
    return result["slides"]


@pytest.fixture(scope="module")
def audits(built, browser):
    """{(deck path, screen): the audit of every slide}."""
    return {(deck, size): audit(browser, deck, size) for deck in deck_html(built) for size in SCREENS}


def figures_in_order(deck_html_path):
    with open(os.path.join(build.PRESENTATION_DIR, os.path.basename(deck_html_path).replace(".html", ".md")),
              encoding="utf-8") as file:
        return iter(build.referenced_images(file.read()))  # in the order the slides show them


def test_slides_fill_the_screen_fit_and_do_not_overlap(audits):
    problems = []
    for (deck, size), slides in audits.items():
        for slide in slides:
            where = f"{os.path.basename(deck)} slide {slide['number']} ({slide['title']}) at {size[0]}x{size[1]}"
            drawn = [round(side * slide["scale"]) for side in slide["size"]]
            if any(abs(side - screen) > 1 for side, screen in zip(drawn, size)):
                problems.append(f"{where}: the slide is drawn {drawn[0]}x{drawn[1]}, not filling the screen")
            problems += [f"{where}: sticks out of the slide: {text!r}" for text in slide["outside"][:3]]
            problems += [f"{where}: {first!r} overlaps {second!r}" for first, second in slide["overlaps"]]
    assert not problems, "\n".join(problems)


def test_no_text_under_16_px_and_no_maze_under_min_width(built, audits):
    """Text in a slide is measured by the browser; text and mazes in a figure by slide_figures.py in the PNG's
    pixels, scaled here by the size the browser paints the figure at."""
    facts = read_json(built, "figure_facts.json")
    problems, sizes = [], {}
    for (deck, size), slides in audits.items():
        images = figures_in_order(deck)
        for slide in slides:
            where = f"{os.path.basename(deck)} slide {slide['number']} ({slide['title']}) at {size[0]}x{size[1]}"
            smallest = slide["smallestText"]
            if smallest and smallest["px"] * slide["scale"] < SMALLEST_TEXT_PX:
                problems.append(f"{where}: text of {smallest['px'] * slide['scale']:.1f} px: {smallest['text']!r}")
            for image in slide["images"]:
                figure = os.path.basename(next(images))
                assert figure in facts, f"{where} shows {figure}, which slide_figures.py did not make"
                (natural_width, natural_height), (box_width, box_height) = image["natural"], image["drawn"]
                painted = min(box_width / natural_width, box_height / natural_height)  # object-fit: contain
                fact = facts[figure]
                text = fact["smallest_text_px"] * painted
                maze = fact["narrowest_maze_px"] * painted if fact["narrowest_maze_px"] else None
                sizes.setdefault(figure, []).append((size, round(text, 1), maze and round(maze)))
                if text < SMALLEST_TEXT_PX:
                    problems.append(f"{where}: {figure}'s smallest text is drawn at {text:.1f} px")
                if maze is not None and maze < MIN_MAZE_PX:
                    problems.append(f"{where}: {figure}'s mazes are drawn {maze:.0f} px wide")
                if fact["maze_panels"] > MAX_MAZE_PANELS:
                    problems.append(f"{where}: {figure} has {fact['maze_panels']} maze panels")
    assert sizes, "the audit found no figure"
    assert not problems, "\n".join(problems)


def test_every_slides_notes_fit_the_notes_view(audits):
    problems = []
    for (deck, size), slides in audits.items():
        if size != NOTES_SCREEN:
            continue
        for slide in slides:
            if not slide["notesFit"]:
                needed, shown = slide["notesHeight"]
                problems.append(f"{os.path.basename(deck)} slide {slide['number']} ({slide['title']}): its notes need "
                                f"{needed} px, the notes view shows {shown}")
    assert not problems, "notes cut off in the `n` view at 1024x768:\n" + "\n".join(problems)


# %% The runbook

def test_runbook_schedules_add_up():
    """Each schedule's start times follow from the minutes before them, and its total is their sum."""
    with open(os.path.join(build.PRESENTATION_DIR, "RUNBOOK.md"), encoding="utf-8") as file:
        runbook = file.read()
    schedules = re.findall(r"### (.+?)\n(.*?)(?=\n### |\n## )", runbook, re.DOTALL)
    assert len(schedules) >= 2, "expected at least a half-day and a full-day schedule"
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


def test_the_machine_times_name_every_row_bench_times_prints():
    """A row renamed or added by hand, or a table from an older bench_times.py, would not match its rows."""
    spec = importlib.util.spec_from_file_location("bench_times", os.path.join(build.REPO, "benchmarks", "bench_times.py"))
    bench_times = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_times)
    expected = ([name for name, _, _ in bench_times.COMMANDS] + [bench_times.WHOLE_NOTEBOOK]
                + [name for name, _ in bench_times.NOTEBOOK_CELLS])
    rows = machine_times(os.path.join(build.REPO, "README.md")).splitlines()[2:]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == expected
    assert all(re.search(r"\d+ s", row) for row in rows), "every row gives a time in seconds"
