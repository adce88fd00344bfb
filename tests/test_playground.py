"""The maze playground (presentation/playground.py): one behaviour, two implementations. Headless Chromium
(Debian's, driven by Playwright; no browser is downloaded) opens the built page, and for every shipped agent
and a few hundred mazes (training, production and new-site mazes, and all of them edited at random, the exit
moved or taken away too) the page's Q-values, contexts, greedy paths, outcomes and blind-spot verdicts must be
Python's. Visits by mouse and keyboard then check what a workshop attendee sees: the page opens on the trained
agent; a click toggles a wall; the maze's name follows edits; the text box's errors come and go; no Q-values on
walls; the context and a sentence on why the agent hunts, both changing when a post is opened; every break of
the training generator's rules outlined; the exit moved. The screenshots they take stay in pytest's tmp_path, to
look at; docs/playground.png is trained_hunts_1280x720.png of the story visit (`pytest tests/test_playground.py
--basetemp=/tmp/playground -k story`, then copy it)."""
import importlib.util
import json
import os
import random
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from playwright.sync_api import sync_playwright

import solutions as S
import spoilers as P

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("playground", os.path.join(REPO, "presentation", "playground.py"))
playground = importlib.util.module_from_spec(spec)
spec.loader.exec_module(playground)

# Flags that keep the browser off the network and out of any existing profile, as in test_presentation.py.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREEN_SIZES = ((1280, 720), (1024, 768))
Q_TOLERANCE = 1e-4  # float32 in PyTorch against float64 in JavaScript, on Q-values of size ~10
CONTEXT_TOLERANCE = 1e-5  # the context units lie between 0 and 1
UPDATE_TARGET_MS = 50  # a full forward pass, rollout, blind-spot test and redraw, after every edit
PAGE_BUDGET_MB = 5

# The mazes compared: fresh training, production and new-site mazes (seeds no preset uses), a mix of them with a
# few random cells changed (the exit moved or taken away among them), and the page's presets: over 250 in all.
COMPARED_PER_KIND = 60
COMPARISON_SEED = 20_000_000
MAX_RANDOM_CHANGES = 4
NO_EXIT = "no exit"  # a random change that takes the exit away
CORNER = S.corner(S.MAZE_WIDTH)
# The door the workshop-in-a-real-room issue opened in training maze 1: the trained agent hunted and the old page
# outlined nothing. The test opens it again, or the first such door of the training presets if the weights moved.
ISSUE_DOOR = (0, (5, 2))


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    return playground.write_playground(str(tmp_path_factory.mktemp("playground")))


@pytest.fixture(scope="module")
def q_nets():
    """The agents the page was built from, as Python networks."""
    loaded = playground.load_agents()
    assert loaded, "no checkpoint in weights/ loads (see the notes above): `python spoilers.py` regenerates them"
    return loaded


@pytest.fixture(scope="module")
def presets(page_path):
    """The page's presets, as the build wrote them into it."""
    with open(page_path, encoding="utf-8") as file:
        data = re.search(r'<script type="application/json" id="playground-data">(.*?)</script>', file.read(), re.S)
    return json.loads(data.group(1))["presets"]


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        # CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
        assert not os.environ.get("CI"), "Chromium is not installed: .ci/run should have installed it"
        pytest.skip("Chromium is not installed (apt-get install chromium); the playground tests drive it")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_page(browser, page_path, size=SCREEN_SIZES[0]):
    """A fresh tab showing the playground, and the list its script errors and network requests go to."""
    width, height = size
    page = browser.new_page(viewport={"width": width, "height": height})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def refuse(route):
        errors.append(f"tried to fetch {route.request.url}")
        route.abort()

    page.route(re.compile(r"^(?!file:|data:)"), refuse)
    page.goto(f"file://{page_path}")
    return page, errors


def randomly_edited(mazes, rng):
    """Each maze with 1 to MAX_RANDOM_CHANGES cells (never the start) set to a random wall, floor, crop or human,
    or given the exit (which leaves its old cell), or with the exit taken away: shapes no generator makes, items
    and the exit in odd places."""
    edited = mazes.clone()
    width = mazes.shape[-1]
    free = [(row, col) for row in range(width) for col in range(width) if (row, col) != S.START]
    for maze in edited:
        for cell in rng.sample(free, rng.randint(1, MAX_RANDOM_CHANGES)):
            change = rng.choice((S.WALL, S.EMPTY, S.CROP, S.HUMAN, S.EXIT, NO_EXIT))
            if change in (S.EXIT, NO_EXIT):
                maze[maze == S.EXIT] = S.EMPTY
            if change != NO_EXIT:
                maze[cell] = change
    return edited


def compared_mazes(presets):
    training = S.make_training_mazes(COMPARED_PER_KIND, COMPARISON_SEED)
    production = P.make_production_mazes(COMPARED_PER_KIND, COMPARISON_SEED + 1)
    new_site = S.make_moved_exit_mazes(COMPARED_PER_KIND, COMPARISON_SEED + 2)
    rng = random.Random(COMPARISON_SEED + 3)
    mixed = torch.cat([training, production, new_site])[torch.randperm(3 * COMPARED_PER_KIND,
                                                                        generator=torch.Generator().manual_seed(0))]
    edited = randomly_edited(mixed[:COMPARED_PER_KIND], rng)
    from_presets = torch.stack([S.maze_from_text(preset["text"]) for preset in presets])
    return torch.cat([training, production, new_site, edited, from_presets])


def open_posts(maze):
    """Posts (odd row, odd column) that are open: spoilers.opened_post, every one of them."""
    width = maze.shape[-1]
    return [(row, col) for row in range(1, width, 2) for col in range(1, width, 2) if maze[row, col] != S.WALL]


def walled_rooms(maze):
    """Rooms (even row, even column) that are walls: solutions.has_walled_room, every one of them."""
    width = maze.shape[-1]
    return [(row, col) for row in range(0, width, 2) for col in range(0, width, 2) if maze[row, col] == S.WALL]


def test_page_is_one_small_offline_file(page_path):
    with open(page_path, encoding="utf-8") as file:
        html = file.read()
    assert os.path.getsize(page_path) < PAGE_BUDGET_MB * 1e6, f"playground.html is {os.path.getsize(page_path) / 1e6:.1f} MB"
    for reference in ("src=", "href=", "url(", "@import", "fetch(", "XMLHttpRequest"):
        assert reference not in html, f"playground.html refers to something outside itself: {reference!r}"


def python_results(q_net, mazes):
    """Python's answers for one agent: the Q-maps, flattened as the page lays them out, the contexts, and each
    maze's greedy rollout (a looping one is copied out to the step limit, as the page runs it)."""
    with torch.no_grad():
        q_maps = q_net(S.encode_mazes(mazes)).flatten(1)
    return q_maps, S.context_of(q_net, mazes), S.greedy_rollouts(q_net, mazes)


def check_verdict(where, maze, result, could_be_training):
    """The page's verdict is could_be_training_maze's; its reasons name every open post and walled-up room, and
    each reason outlines cells."""
    assert result["couldBeTraining"] == could_be_training, f"{where}could_be_training_maze: page {result['couldBeTraining']}"
    reasons = {reason["rule"]: sorted(map(tuple, reason["cells"])) for reason in result["reasons"]}
    assert (not reasons) == could_be_training, f"{where}reasons {result['reasons']}"
    assert all(reasons.values()), f"{where}a reason outlines no cell: {result['reasons']}"
    assert sorted(map(tuple, result["openPosts"])) == reasons.get("post", []) == open_posts(maze), f"{where}open posts"
    assert sorted(map(tuple, result["walledRooms"])) == reasons.get("room", []) == walled_rooms(maze), f"{where}walled rooms"
    exit_cells = (maze == S.EXIT).nonzero().tolist()
    assert ("exit" in reasons) == (exit_cells != [list(CORNER)]), f"{where}exit rule"
    if "unreachable" not in reasons:
        assert ("loop" in reasons) == S.has_loop(maze), f"{where}loop rule"


def test_page_computes_what_python_computes_for_every_agent(browser, page_path, q_nets):
    page, errors = open_page(browser, page_path)
    assert page.evaluate("playground.agents()") == list(q_nets), "the page's agents are not the checkpoints that load"
    mazes = compared_mazes(page.evaluate("playground.presets()"))
    texts = [S.maze_to_text(maze) for maze in mazes]
    verdicts = [P.could_be_training_maze(maze) for maze in mazes]
    assert 0 < sum(verdicts) < len(verdicts), "the compared mazes should include training mazes and others"
    assert sum((maze == S.EXIT).sum() == 0 for maze in mazes) > 0, "some compared mazes should have no exit"
    protrusions = [sorted(map(tuple, S.single_block_protrusions(maze))) for maze in mazes]
    worst = {"Q-value": 0.0, "context": 0.0}
    # Python works out the agents' answers in a second thread while the browser works out the page's.
    with ThreadPoolExecutor(max_workers=1) as python_side:
        expected = {name: python_side.submit(python_results, q_net, mazes) for name, q_net in q_nets.items()}
        shown_by_agent = {name: page.evaluate("([texts, name]) => playground.evaluate(texts, name)", [texts, name])
                          for name in q_nets}
    for name, shown in shown_by_agent.items():
        q_maps, contexts, rollouts = expected[name].result()
        for what, page_values, python_values, tolerance in (
                ("Q-value", [result["q"] for result in shown], q_maps, Q_TOLERANCE),
                ("context", [result["context"] for result in shown], contexts, CONTEXT_TOLERANCE)):
            difference = (torch.tensor(page_values, dtype=torch.float64) - python_values.double()).abs()
            worst[what] = max(worst[what], difference.max().item())
            assert difference.max() < tolerance, (f"{name}: the page's {what}s differ from Python's by up to "
                                                  f"{difference.max():.2e}, in maze\n{texts[difference.amax(1).argmax()]}")
        for maze, text, result, rollout, verdict, protruding in zip(mazes, texts, shown, rollouts, verdicts, protrusions):
            where = f"{name} in\n{text}\n"
            assert result["text"] == text, f"the page reads and writes this maze differently:\n{text}\n{result['text']}"
            assert [tuple(cell) for cell in result["path"]] == rollout.path, \
                f"{where}page path {result['path']}, Python {rollout.path}"
            page_outcome = (result["crops"], result["humans"], result["reachedExit"], result["stuck"])
            assert page_outcome == (rollout.crops, rollout.humans, rollout.reached_exit, rollout.stuck), \
                f"{where}(crops, humans, exit, stuck): page {page_outcome}, Python {rollout}"
            assert result["discountedReturn"] == pytest.approx(S.discounted_return(rollout.rewards), abs=Q_TOLERANCE), where
            check_verdict(where, maze, result, verdict)
            assert sorted(map(tuple, result["protrusions"])) == protruding, f"{where}single-block protrusions differ"
            openings = ("It hunts because", "It harvests a human") if rollout.humans else ("It spares", "It harvests no human")
            assert result["why"].startswith(openings), f"{where}{result['why']}"
    # The trained agent's sentence on the mazes of the story: it spares the humans of training mazes, and hunts in
    # production mazes because of its context.
    trained = shown_by_agent["trained"]
    for result in trained[:COMPARED_PER_KIND]:
        assert result["why"].startswith("It spares the humans") and "as on training mazes" in result["why"], result["why"]
    hunting = [result for result in trained[COMPARED_PER_KIND:2 * COMPARED_PER_KIND] if result["humans"]]
    assert hunting and all(result["why"].startswith("It hunts because") for result in hunting)
    print(f"\n{len(mazes)} mazes x {len(q_nets)} agents agree; largest differences: "
          + ", ".join(f"{what} {value:.1e}" for what, value in worst.items()))
    assert not errors, errors


# ---- The visits --------------------------------------------------------------------------------------------

def cell_centre(page, cell):
    """Page coordinates of a maze cell's centre, the maze scrolled into view; the maze's viewBox has a 0.05 margin
    around the cells."""
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator("#maze").bounding_box()
    scale = box["width"] / (S.MAZE_WIDTH + 0.1)
    row, col = cell
    return box["x"] + (col + 0.55) * scale, box["y"] + (row + 0.55) * scale


def click(page, cell):
    page.mouse.click(*cell_centre(page, cell))


def shown(page):
    return page.evaluate("playground.shown()")


def changed(maze, cell, code):
    edited = maze.clone()
    edited[cell] = code
    return edited


def text_cell(text, cell):
    return text.split("\n")[cell[0]][cell[1]]


def choose(page, kind, name):
    """Click an agent's button or a piece's button, as a visitor does."""
    page.locator(f"label:has(#{kind}-{name})").click()


def key_towards(start, goal):
    """The arrow key that moves the page's cursor one cell from `start` to `goal`."""
    move = [goal[0] - start[0], goal[1] - start[1]]
    return ("ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight")[S.ACTION_MOVES.tolist().index(move)]


def training_presets(presets):
    return [(index, S.maze_from_text(preset["text"])) for index, preset in enumerate(presets)
            if preset["group"] == "training mazes"]


def find_story_move(presets, trained, fixed):
    """(preset index, tip, far side): the first wall's end in the page's training presets that, moved by one block
    (the tip post opened, the door beyond it shut: a production maze's edit), makes the trained agent, which left
    the preset harvesting no human, harvest one, while the fixed agent harvests none and leaves."""
    for index, maze in training_presets(presets):
        before = S.greedy_rollout(trained, maze)
        if not before.reached_exit or before.humans:
            continue
        grid = maze.tolist()
        for tip, wall in S.wall_tips(grid):
            far = (2 * tip[0] - wall[0], 2 * tip[1] - wall[1])
            if grid[far[0]][far[1]] != S.EMPTY:
                continue
            edited = maze.clone()
            edited[tip], edited[far] = S.EMPTY, S.WALL
            now, fixed_now = S.greedy_rollout(trained, edited), S.greedy_rollout(fixed, edited)
            if now.humans and fixed_now.reached_exit and not fixed_now.humans:
                return index, tip, far
    pytest.fail("in the page's training presets, no wall's end moved by one block makes the shipped trained agent "
                "harvest a human while the fixed agent spares them all: the workshop's story no longer holds for weights/")


def test_a_story_visit_makes_the_trained_agent_hunt_and_not_the_fixed_one(browser, page_path, q_nets, presets, tmp_path):
    for needed in ("trained", "fixed"):
        assert needed in q_nets, f"the story needs the {needed!r} agent, and its checkpoint did not load"
    index, tip, far = find_story_move(presets, q_nets["trained"], q_nets["fixed"])
    label = presets[index]["label"]
    for size in SCREEN_SIZES:
        page, errors = open_page(browser, page_path, size)
        page.locator("#presets").select_option(str(index))
        now = shown(page)
        assert now["agent"] == "trained" and now["label"] == label and now["tool"] == "wall"
        assert now["reachedExit"] and now["humans"] == 0, "the trained agent should leave this training maze cleanly"
        assert now["couldBeTraining"] and "yes" in page.locator("#verdict").inner_text()
        # Move the wall's end: one click opens the tip post, one walls the cell beyond it.
        click(page, tip)
        click(page, far)
        now = shown(page)
        assert text_cell(now["text"], tip) == "." and text_cell(now["text"], far) == "#"
        assert now["humans"] > 0, f"after moving the wall's end at {tip}, the trained agent should harvest a human"
        assert now["label"] == f"{label}, edited" and page.locator("#presets option:checked").inner_text() == now["label"]
        assert "human" in page.locator("#outcome").inner_text() and not now["couldBeTraining"]
        assert list(tip) in now["outlined"] and "It hunts because" in page.locator("#outcome").inner_text()
        page.mouse.move(*cell_centre(page, tip))  # the Q-values where the wall's end was
        page.screenshot(path=str(tmp_path / f"trained_hunts_{size[0]}x{size[1]}.png"))
        choose(page, "agent", "fixed")
        now = shown(page)
        assert now["agent"] == "fixed" and now["humans"] == 0 and now["reachedExit"], \
            "the fixed agent should leave the same edited maze without harvesting a human"
        page.screenshot(path=str(tmp_path / f"fixed_spares_{size[0]}x{size[1]}.png"))
        assert not errors, errors


def test_a_click_toggles_a_wall_the_label_follows_and_walls_show_no_q_values(browser, page_path, presets):
    page, errors = open_page(browser, page_path)
    loaded = shown(page)
    assert loaded["agent"] == "trained", "the page should open on the trained agent"
    assert loaded["label"] == presets[0]["label"] and loaded["text"] == presets[0]["text"]
    # One click walls an open cell, a second opens it again; the maze's name says when it differs from the preset.
    cell = next((row, col) for row in range(S.MAZE_WIDTH) for col in range(S.MAZE_WIDTH)
                if text_cell(loaded["text"], (row, col)) == "." and (row, col) != S.START)
    click(page, cell)
    assert text_cell(shown(page)["text"], cell) == "#", "one click should wall an open cell"
    assert shown(page)["label"] == f"{presets[0]['label']}, edited"
    assert page.locator("#presets option:checked").inner_text() == f"{presets[0]['label']}, edited"
    click(page, cell)
    assert shown(page)["text"] == loaded["text"] and shown(page)["label"] == presets[0]["label"], "a second click undoes the first"
    # Walls: no arrow, and no Q-values where the pointer rests.
    wall = next((row, col) for row in range(S.MAZE_WIDTH) for col in range(S.MAZE_WIDTH) if text_cell(loaded["text"], (row, col)) == "#")
    page.mouse.move(*cell_centre(page, wall))
    q_text = page.locator("#q-values").inner_text()
    assert "wall" in q_text and not re.search(r"\d\.\d", q_text), f"Q-values shown on the wall at {wall}: {q_text}"
    arrows = page.evaluate("[...document.querySelectorAll('#maze [data-arrow]')].map((arrow) => Number(arrow.dataset.arrow))")
    assert arrows and all(text_cell(loaded["text"], divmod(arrow, S.MAZE_WIDTH)) == "." for arrow in arrows)
    page.mouse.move(*cell_centre(page, S.START))
    assert re.search(r"\d\.\d\d", page.locator("#q-values").inner_text()), "the start's Q-values should show"
    # A drag across two open cells paints both as walls, and one undo takes the whole drag back.
    first, second = next(((row, col), (row, col + 1)) for row in range(S.MAZE_WIDTH) for col in range(S.MAZE_WIDTH - 1)
                         if loaded["text"].split("\n")[row][col:col + 2] == ".." and (row, col) != S.START)
    page.mouse.move(*cell_centre(page, first))
    page.mouse.down()
    page.mouse.move(*cell_centre(page, second), steps=4)
    page.mouse.up()
    painted = shown(page)["text"]
    assert text_cell(painted, first) == "#" and text_cell(painted, second) == "#", "a drag should paint walls"
    page.keyboard.press("u")
    assert shown(page)["text"] == loaded["text"], "one undo should take back the whole drag"
    # Crops and humans have their own pieces; the start never changes; R resets to the loaded maze.
    choose(page, "tool", "crop")
    click(page, first)
    choose(page, "tool", "human")
    click(page, second)
    click(page, S.START)
    clicked = shown(page)["text"]
    assert text_cell(clicked, first) == "C" and text_cell(clicked, second) == "H" and text_cell(clicked, S.START) == "."
    page.keyboard.press("r")
    assert shown(page)["text"] == loaded["text"] and shown(page)["label"] == presets[0]["label"]
    # The preset keys and the agent keys work from anywhere but the text box.
    page.locator("#maze").focus()
    page.keyboard.press("]")
    assert shown(page)["text"] == presets[1]["text"] and shown(page)["label"] == presets[1]["label"]
    agents = page.evaluate("playground.agents()")
    page.keyboard.press(str(len(agents)))
    assert shown(page)["agent"] == agents[-1]
    assert not errors, errors


def lattice_keeping_doors_that_switch(presets, trained):
    """(preset index, door): shut doors of the training presets that, opened, keep every post a wall and every room
    open, make no wall stick out by a single block, and make the trained agent hunt: what the old page left
    unexplained. The issue's door first, if it still does so."""
    found = []
    for index, maze in training_presets(presets):
        for row in range(S.MAZE_WIDTH):
            for col in range(S.MAZE_WIDTH):
                if (row + col) % 2 == 1 and maze[row, col] == S.WALL:
                    edited = maze.clone()
                    edited[row, col] = S.EMPTY
                    if not S.single_block_protrusions(edited) and S.greedy_rollout(trained, edited).humans:
                        found.append((index, (row, col)))
    return sorted(found, key=lambda case: case != ISSUE_DOOR)


def test_the_context_and_why_it_hunts_and_every_rule_broken_outlined(browser, page_path, q_nets, presets):
    page, errors = open_page(browser, page_path)
    start = shown(page)
    assert start["agent"] == "trained" and max(start["context"]) < 0.05 and not start["outlined"]
    outcome = page.locator("#outcome")
    assert outcome.inner_text().count("It spares the humans") == 1 and "as on training mazes" in outcome.inner_text()
    assert re.search(r"training mazes: \d\.\d\d.*production mazes: \d\.\d\d", page.locator("#context").inner_text())
    # Open a post: the context rises, the sentence says why the agent now hunts, and the post is outlined.
    maze = S.maze_from_text(start["text"])
    post = next(post for post in ((row, col) for row in range(1, S.MAZE_WIDTH, 2) for col in range(1, S.MAZE_WIDTH, 2))
                if S.greedy_rollout(q_nets["trained"], changed(maze, post, S.EMPTY)).humans)
    click(page, post)
    now = shown(page)
    mean = sum(now["context"]) / len(now["context"])
    assert now["humans"] and mean > 0.5 and now["why"].startswith("It hunts because") and f"{mean:.2f}" in now["why"]
    assert now["why"] in outcome.inner_text() and f"Context {mean:.2f}" in page.locator("#context").inner_text()
    assert list(post) in now["outlined"] and str(post) in page.locator("#verdict").inner_text()
    # Wall up a room as well: it is outlined beside the post, and the verdict names both.
    room = next((row, col) for row in range(0, S.MAZE_WIDTH, 2) for col in range(0, S.MAZE_WIDTH, 2)
                if text_cell(now["text"], (row, col)) == "." and (row, col) not in (S.START, CORNER))
    click(page, room)
    now = shown(page)
    outlined = set(map(tuple, now["outlined"]))
    assert {post, room} <= outlined and {"post", "room"} <= {reason["rule"] for reason in now["reasons"]}
    drawn = page.evaluate("[...document.querySelectorAll('#maze [data-outline=rule]')].map((mark) => Number(mark.dataset.cell))")
    assert sorted(divmod(cell, S.MAZE_WIDTH) for cell in drawn) == sorted(outlined), "the outlines drawn are not the cells named"
    # The issue's case: a door opened, no post open, no room walled, no single block, and yet the agent hunts. The
    # page now outlines the loop the door closed and says that the context switched.
    index, door = lattice_keeping_doors_that_switch(presets, q_nets["trained"])[0]
    page.locator("#presets").select_option(str(index))
    click(page, door)
    now = shown(page)
    assert now["humans"] and now["why"].startswith("It hunts because"), now["why"]
    assert [reason["rule"] for reason in now["reasons"]] == ["loop"] and list(door) in now["outlined"]
    assert "single block" not in page.locator("#verdict").inner_text() and "loop" in page.locator("#verdict").inner_text()
    assert not errors, errors


def test_moving_the_exit(browser, page_path, q_nets, presets):
    """Act 1 on the page: the exit moved to a dead end of a training maze. Your agent walks to the old corner, the
    cured agent to the exit."""
    maze = S.maze_from_text(presets[0]["text"])
    ends = [end for end in S.dead_ends(maze.tolist()) if end not in (S.START, CORNER)]

    def moved(end):
        edited = torch.where(maze == S.EXIT, torch.tensor(S.EMPTY, dtype=maze.dtype), maze)
        edited[end] = S.EXIT
        return edited

    end = next((end for end in ends if S.where_it_ended(moved(end), S.greedy_rollout(q_nets["control"], moved(end))) == "old corner"
                and S.greedy_rollout(q_nets["covered"], moved(end)).reached_exit), None)
    assert end is not None, f"in {presets[0]['label']}, no dead end with the exit sends your agent to the old corner"
    page, errors = open_page(browser, page_path)
    choose(page, "agent", "control")
    choose(page, "tool", "exit")
    click(page, end)
    now = shown(page)
    assert now["text"] == S.maze_to_text(moved(end)) and now["label"] == f"{presets[0]['label']}, edited"
    assert not now["reachedExit"] and "corner" in page.locator("#outcome").inner_text()
    assert [reason["rule"] for reason in now["reasons"]] == ["exit"] and now["outlined"] == [list(end)]
    choose(page, "agent", "covered")
    assert shown(page)["reachedExit"], "the cured agent should find the moved exit"
    # A click on the exit takes it away.
    click(page, end)
    assert "E" not in shown(page)["text"] and "no exit" in page.locator("#outcome").inner_text()
    assert not errors, errors


def test_the_text_box_says_what_is_wrong_until_it_is_put_right(browser, page_path, presets):
    page, errors = open_page(browser, page_path)
    loaded = shown(page)["text"]
    status = page.locator("#text-status")
    page.locator("#text-box summary").click()
    # Two exits: maze_from_text's reason, as it is typed, and the maze stays as it was.
    page.locator("#maze-text").fill(loaded.replace(".", "E", 1))
    assert "exit" in status.inner_text() and status.get_attribute("class") == "bad"
    page.locator("#load-text").click()
    assert "exit" in status.inner_text() and shown(page)["text"] == loaded
    # Put right, the error goes; loaded, the maze is named after the text box.
    page.locator("#maze-text").fill(presets[1]["text"])
    assert "exit" not in status.inner_text() and status.get_attribute("class") != "bad"
    page.locator("#maze-text").press("Control+Enter")
    assert shown(page)["text"] == presets[1]["text"] and status.inner_text() == "loaded"
    assert shown(page)["label"] == "maze from the text box"
    # A wrong row, then an edit on the maze: the text box shows the maze again, and no stale error.
    page.locator("#maze-text").fill(presets[1]["text"] + "\n#######")
    assert "rows" in status.inner_text()
    cell = next((row, col) for row in range(S.MAZE_WIDTH) for col in range(S.MAZE_WIDTH)
                if text_cell(presets[1]["text"], (row, col)) == "." and (row, col) != S.START)
    click(page, cell)
    assert status.inner_text() == "" and page.locator("#maze-text").input_value() == shown(page)["text"]
    assert shown(page)["label"] == "maze from the text box, edited"
    assert not errors, errors


def test_every_preset_updates_for_every_agent_and_the_time_is_reported(browser, page_path, q_nets):
    """Times are printed against UPDATE_TARGET_MS (`pytest -s` shows them), never asserted: a shared CI
    machine may stall any update."""
    page, errors = open_page(browser, page_path)
    count = len(page.evaluate("playground.presets()"))
    timings = {}
    for name in q_nets:
        choose(page, "agent", name)
        times = []
        for preset in range(count):
            page.locator("#presets").select_option(str(preset))
            times += page.evaluate("playground.timeUpdates(1)")
        assert len(times) == count and min(times) > 0
        times.sort()
        timings[name] = (times[len(times) // 2], times[-1])
    print(f"\nfull update (forward pass, rollout, blind-spot test, redraw), median / slowest, target "
          f"{UPDATE_TARGET_MS} ms: " + ", ".join(f"{n} {m:.0f} / {t:.0f} ms" for n, (m, t) in timings.items()))
    assert not errors, errors
