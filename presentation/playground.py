"""The maze playground: one offline HTML page in which anyone can edit a maze and watch the shipped agents
respond, with the real network run in the browser. build.py writes it beside the decks.

The page (playground.js) re-implements the forward pass, the step rule, the rollout and the blind-spot
test of solutions.py and spoilers.py in plain JavaScript. This file gives it everything that must not be
typed twice: the weights of every shipped agent, the cell codes, rewards, colours and glyphs, and preset
mazes made by the walk-through's own generators and dreams. tests/test_playground.py checks, in Chromium,
that the page and Python agree.

    python presentation/playground.py        # writes presentation/build/playground.html (a few seconds)
"""
import base64
import json
import os
import sys
import time
from dataclasses import asdict

import torch

PRESENTATION_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(PRESENTATION_DIR)
sys.path.insert(0, REPO)  # solutions.py and spoilers.py live in the repository root

from solutions import (ACTION_MOVES, ACTION_NAMES, AGENT_COLOUR, CELL_COLOURS, CONTROL_AGENT_PATH, CROP, EDIT_COLOUR,
                       EMPTY, EVALUATION_SEED, EXIT, FIXED_AGENT_PATH, GAMMA, GLYPHS, HUMAN,
                       MAZE_WIDTH, REWARDS, START, STARTING_WEIGHTS_PATH, TEXT_OF_CELL, TRAINED_AGENT_PATH, WALL,
                       load_checkpoint, make_training_mazes, max_rollout_steps, maze_to_text, minimal_edit_dreams,
                       one_placement_per_maze)
from spoilers import make_production_mazes

DEFAULT_OUT = os.path.join(PRESENTATION_DIR, "build")
PAGE_NAME = "playground.html"
TEMPLATE_PATH = os.path.join(PRESENTATION_DIR, "playground.template.html")
STYLE_PATH = os.path.join(PRESENTATION_DIR, "playground.css")
SCRIPT_PATH = os.path.join(PRESENTATION_DIR, "playground.js")
# The template's placeholders, each replaced by the file or data it names.
STYLE_SLOT, DATA_SLOT, SCRIPT_SLOT = "/* playground.css */", "/* page data */", "/* playground.js */"

# Every agent the page can offer, in the order of the walk-through: (name the page and its tests use,
# label on the button, checkpoint, what it is). Checkpoints that are missing are left out.
AGENTS = (
    ("starting", "starting weights", STARTING_WEIGHTS_PATH, "the shipped starting weights, before any training (section 13)"),
    ("trained", "trained", TRAINED_AGENT_PATH, "after the walk-through's training run (section 14)"),
    ("fixed", "fixed", FIXED_AGENT_PATH,
     "trained from a fresh start with single-block protrusions in its training mazes (section 22)"),
    ("control", "control", CONTROL_AGENT_PATH, "the same network trained the normal way from a random start (section 17)"),
)
DREAMING_AGENT = "trained"  # the agent whose blind spot section 19 dreams up

# Presets, from the walk-through's own seeds: the first of section 14's fresh training mazes and of section 15's
# production mazes, and section 19's minimal-edit dreams on the first of its training mazes.
PRESET_MAZES = 6  # of each kind
TRAINING_PRESET_SEED = EVALUATION_SEED
PRODUCTION_PRESET_SEED = EVALUATION_SEED + 1
DREAM_PRESET_SEED = EVALUATION_SEED + 21
DREAM_PLACEMENTS = 32  # training mazes the build may dream on; only some of them yield an edit
DREAM_BATCH = 8  # dreamt at once (a second or two), until PRESET_MAZES dreams are found


def tensor_to_base64(tensor):
    """The tensor's values as float32, little-endian, row-major, in base64: playground.js decodes them as such."""
    values = tensor.detach().cpu().to(torch.float32).contiguous().numpy().astype("<f4")
    return base64.b64encode(values.tobytes()).decode("ascii")


def load_agents(agents=AGENTS):
    """{name: q_net} for every agent in `agents` whose checkpoint exists and loads; a note for each one left out."""
    loaded = {}
    for name, _, path, _ in agents:
        if not os.path.exists(path):
            print(f"playground: no {os.path.relpath(path, REPO)}, so no {name!r} agent in the page")
            continue
        try:
            networks, _ = load_checkpoint(path)
        except ValueError as error:  # a checkpoint of an older format, say
            print(f"playground: leaving out {name!r}: {error}")
            continue
        loaded[name] = networks["q_net"].cpu().eval()
    return loaded


def export_agent(q_net):
    """The network's sizes and every tensor of its state_dict, by the names PyTorch gives them."""
    return {"sizes": q_net.sizes(), "rounds": q_net.rounds,
            "tensors": {key: tensor_to_base64(value) for key, value in q_net.state_dict().items()}}


def preset(group, label, maze, **extra):
    return dict(group=group, label=label, text=maze_to_text(maze), **extra)


def dream_presets(q_net):
    """Section 19's minimal-edit dreams on its first training mazes, until PRESET_MAZES of them send the agent
    onto the human: each edited maze, the cells the dream changed, and where it put the agent (one step from a
    human, which the agent there now steps onto)."""
    mazes, positions, actions = one_placement_per_maze(
        make_training_mazes(2 * DREAM_PLACEMENTS, DREAM_PRESET_SEED), DREAM_PLACEMENTS)
    presets = []
    for start in range(0, len(mazes), DREAM_BATCH):
        batch = slice(start, start + DREAM_BATCH)
        dreams = minimal_edit_dreams(q_net, mazes[batch], positions[batch], actions[batch])
        for maze, edited, position, action in zip(mazes[batch], dreams, positions[batch].tolist(), actions[batch].tolist()):
            if edited is not None and len(presets) < PRESET_MAZES:
                changed = (edited != maze).nonzero().tolist()
                presets.append(preset("dreamt minimal edits", f"dream {len(presets) + 1}: {len(changed)} cells changed",
                                      edited, changed=changed, dreamAgent=position, dreamAction=action))
        if len(presets) == PRESET_MAZES:
            break
    return presets


def make_presets(q_nets):
    """Training mazes, production mazes and, when the trained agent loaded, its dreams."""
    presets = [preset("training mazes", f"training maze {index + 1}", maze)
               for index, maze in enumerate(make_training_mazes(PRESET_MAZES, TRAINING_PRESET_SEED))]
    presets += [preset("production mazes", f"production maze {index + 1}", maze)
                for index, maze in enumerate(make_production_mazes(PRESET_MAZES, PRODUCTION_PRESET_SEED))]
    if DREAMING_AGENT in q_nets:
        presets += dream_presets(q_nets[DREAMING_AGENT])
    else:
        print(f"playground: no {DREAMING_AGENT!r} agent, so no dreamt presets")
    return presets


def page_data(q_nets, agents=AGENTS):
    """Everything playground.js reads, as plain JSON: the world's rules and looks, the agents, the presets."""
    return {
        "width": MAZE_WIDTH,
        "cells": {"WALL": WALL, "EMPTY": EMPTY, "CROP": CROP, "HUMAN": HUMAN, "EXIT": EXIT},
        "textOfCell": {str(code): text for code, text in TEXT_OF_CELL.items()},
        "start": list(START),
        "actionMoves": ACTION_MOVES.tolist(),
        "actionNames": list(ACTION_NAMES),
        "rewards": asdict(REWARDS),
        "gamma": GAMMA,
        "maxRolloutSteps": max_rollout_steps(MAZE_WIDTH),
        "cellColours": {str(code): colour for code, colour in CELL_COLOURS.items()},
        "glyphs": {str(code): list(glyph) for code, glyph in GLYPHS.items()},
        "agentColour": AGENT_COLOUR,
        "editColour": EDIT_COLOUR,
        "agents": [dict(name=name, label=label, about=about, file=os.path.relpath(path, REPO),
                        **export_agent(q_nets[name])) for name, label, path, about in agents if name in q_nets],
        "presets": make_presets(q_nets),
    }


def build_page(data):
    """The template with the styles, the data and the script inlined: one file, nothing fetched."""
    def read(path):
        with open(path, encoding="utf-8") as file:
            return file.read()

    # "</" inside a <script> would end it early; JSON allows the escaped form "<\/" anywhere in a string.
    data_json = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    page = read(TEMPLATE_PATH)
    for slot, content in ((STYLE_SLOT, read(STYLE_PATH)), (DATA_SLOT, data_json), (SCRIPT_SLOT, read(SCRIPT_PATH))):
        if page.count(slot) != 1:
            raise ValueError(f"{os.path.basename(TEMPLATE_PATH)} must hold {slot!r} exactly once")
        page = page.replace(slot, content)
    return page


def write_playground(out=DEFAULT_OUT, agents=AGENTS):
    """Write <out>/playground.html from the checkpoints there are now; returns its path."""
    started = time.perf_counter()
    q_nets = load_agents(agents)
    html = build_page(page_data(q_nets, agents))
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, PAGE_NAME)
    with open(path, "w", encoding="utf-8") as file:
        file.write(html)
    print(f"playground: {len(q_nets)} of {len(agents)} agents, {time.perf_counter() - started:.1f} s")
    return path


if __name__ == "__main__":
    print(write_playground())
