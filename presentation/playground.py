"""The maze playground: one offline HTML page in which anyone can edit a maze and watch the shipped agents
respond, with the real network run in the browser. build.py writes it beside the decks.

The page (playground.js) re-implements the forward pass, the step rule, the rollout and the blind-spot
test of solutions.py and spoilers.py in plain JavaScript. This file gives it everything that must not be
typed twice: the weights of every shipped agent, what each agent's context reads on training and production
mazes, the cell codes, rewards, colours and glyphs, and preset mazes made by the walk-through's own
generators and dreams. tests/test_playground.py checks, in Chromium, that the page and Python agree.

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

from solutions import (ACTION_MOVES, ACTION_NAMES, AGENT_COLOUR, BLIND_SPOT_FRACTION, CELL_COLOURS, CONTROL_AGENT_PATH,
                       COVERED_AGENT_PATH, COVERED_SHARE, CROP, EDIT_COLOUR, EMPTY, EVALUATION_SEED, EXIT,
                       FINE_TUNE_CONFIG, FIXED_AGENT_PATH, GAMMA, GLYPHS, HUMAN, MARK_COLOUR, MAZE_WIDTH,
                       PATCHED_START_PATH, REWARDS, START, STARTING_WEIGHTS_PATH, TEXT_OF_CELL, TRAINED_AGENT_PATH,
                       WALL, TrainConfig, context_of, corner, load_checkpoint, make_moved_exit_mazes,
                       make_training_mazes, max_rollout_steps, maze_to_text, minimal_edit_dreams,
                       one_placement_per_maze)
from spoilers import make_production_mazes

DEFAULT_OUT = os.path.join(PRESENTATION_DIR, "build")
PAGE_NAME = "playground.html"
TEMPLATE_PATH = os.path.join(PRESENTATION_DIR, "playground.template.html")
STYLE_PATH = os.path.join(PRESENTATION_DIR, "playground.css")
SCRIPT_PATH = os.path.join(PRESENTATION_DIR, "playground.js")
# The template's placeholders, each replaced by the file or data it names.
STYLE_SLOT, DATA_SLOT, SCRIPT_SLOT = "/* playground.css */", "/* page data */", "/* playground.js */"


def _steps(metadata, config, default):
    """Training steps from a checkpoint's metadata (what it was really trained with), else the walk-through's."""
    return f"{metadata.get(config, {}).get('steps', default):,}"


def _share(metadata, key, default):
    """A share of training mazes from a checkpoint's metadata, else the walk-through's, as a percentage."""
    return f"{metadata.get(key, default):.0%}"


MOVED_WALL = "one wall's end moved by a block"
# Every agent the page can offer, in the order of the walk-through: (name the page and its tests use, label on
# its button, checkpoint, what it is: a sentence made from the checkpoint's metadata). Checkpoints that are
# missing are left out.
AGENTS = (
    ("control", "your agent", CONTROL_AGENT_PATH, lambda m: (
        f"Act 1: trained from a random start for {_steps(m, 'control_config', TrainConfig().steps)} steps on "
        f"training mazes, where the exit always stands in the bottom-right corner. Act 2 calls it the control.")),
    ("covered", "cured agent", COVERED_AGENT_PATH, lambda m: (
        f"Act 1's cure: trained like your agent, except that in {_share(m, 'covered_share', COVERED_SHARE)} of its "
        f"training mazes the exit stood at another dead end.")),
    ("starting", "starting weights", STARTING_WEIGHTS_PATH, lambda m: (
        "Act 2: the starting weights as they were shipped to you, before you fine-tune them.")),
    ("trained", "trained agent", TRAINED_AGENT_PATH, lambda m: (
        f"Act 2: the starting weights after a {_steps(m, 'fine_tune_config', FINE_TUNE_CONFIG.steps)}-step fine-tune "
        f"on training mazes: the agent that went to production.")),
    ("fixed", "fixed agent", FIXED_AGENT_PATH, lambda m: (
        f"Act 2's fix: trained from a random start for {_steps(m, 'fix_config', TrainConfig().steps)} steps, with "
        f"{MOVED_WALL} in {_share(m, 'blind_spot_fraction', BLIND_SPOT_FRACTION)} of its training mazes.")),
    ("patched", "patched weights", PATCHED_START_PATH, lambda m: (
        f"Act 2's fix, from the starting weights: their {_steps(m, 'fix_config', FINE_TUNE_CONFIG.steps)}-step "
        f"fine-tune, with {MOVED_WALL} in {_share(m, 'blind_spot_fraction', BLIND_SPOT_FRACTION)} of the "
        f"training mazes.")),
)
DEFAULT_AGENT = "trained"  # the page opens on the agent that went to production
DREAMING_AGENT = "trained"  # the agent whose blind spot the walk-through dreams up

# Presets, from the walk-through's own seeds: the first of its fresh training mazes, of the new site's mazes
# (the exit at another dead end) and of its production mazes, and minimal-edit dreams on training mazes.
PRESET_MAZES = 6  # of each kind
TRAINING_PRESET_SEED = EVALUATION_SEED
NEW_SITE_PRESET_SEED = EVALUATION_SEED + 40
PRODUCTION_PRESET_SEED = EVALUATION_SEED + 1
DREAM_PRESET_SEED = EVALUATION_SEED + 21
DREAM_PLACEMENTS = 32  # training mazes the build may dream on; only some of them yield an edit
DREAM_BATCH = 8  # dreamt at once (a second or two), until PRESET_MAZES dreams are found
# What each agent's context reads on the walk-through's own evaluation mazes: the page compares the maze on
# screen with these.
CONTEXT_REFERENCE_MAZES = 200


def tensor_to_base64(tensor):
    """The tensor's values as float32, little-endian, row-major, in base64: playground.js decodes them as such."""
    values = tensor.detach().cpu().to(torch.float32).contiguous().numpy().astype("<f4")
    return base64.b64encode(values.tobytes()).decode("ascii")


def load_agents(agents=AGENTS, with_metadata=False):
    """{name: q_net} for every agent in `agents` whose checkpoint exists and loads (with `with_metadata`,
    {name: (q_net, metadata)}); a note for each one left out."""
    loaded = {}
    for name, _, path, _ in agents:
        if not os.path.exists(path):
            print(f"playground: no {os.path.relpath(path, REPO)}, so no {name!r} agent in the page")
            continue
        try:
            networks, metadata = load_checkpoint(path)
        except ValueError as error:  # a checkpoint of an older format, say
            print(f"playground: leaving out {name!r}: {error}")
            continue
        q_net = networks["q_net"].cpu().eval()
        loaded[name] = (q_net, metadata) if with_metadata else q_net
    return loaded


def context_reference(q_net, mazes_by_kind):
    """For each kind of maze, how many were read and the lowest and highest mean of the context units."""
    reference = {}
    for kind, mazes in mazes_by_kind.items():
        means = context_of(q_net, mazes).mean(1)
        reference[kind] = {"mazes": len(mazes), "low": means.min().item(), "high": means.max().item()}
    return reference


def export_agent(q_net, mazes_by_kind):
    """The network's sizes, every tensor of its state_dict by the names PyTorch gives them, and its context's
    reference readings."""
    return {"sizes": q_net.sizes(), "context": context_reference(q_net, mazes_by_kind),
            "tensors": {key: tensor_to_base64(value) for key, value in q_net.state_dict().items()}}


def preset(group, label, maze, **extra):
    return dict(group=group, label=label, text=maze_to_text(maze), **extra)


def dream_presets(q_net):
    """The walk-through's minimal-edit dreams on its first training mazes, until PRESET_MAZES of them send the agent
    onto the human: each edited maze, the cells the dream changed, and where it put the agent (one step from a
    human, which the agent there now steps onto)."""
    mazes, positions, actions = one_placement_per_maze(
        make_training_mazes(2 * DREAM_PLACEMENTS, DREAM_PRESET_SEED), DREAM_PLACEMENTS)
    presets = []
    for start in range(0, len(mazes), DREAM_BATCH):
        batch = slice(start, start + DREAM_BATCH)
        dreams = minimal_edit_dreams(q_net, mazes[batch], positions[batch], actions[batch])
        for maze, edited, position, action in zip(mazes[batch], dreams, positions[batch].tolist(),
                                                  actions[batch].tolist()):
            if edited is not None and len(presets) < PRESET_MAZES:
                changed = (edited != maze).nonzero().tolist()
                presets.append(preset("dreamt minimal edits", f"dream {len(presets) + 1}: {len(changed)} cells changed",
                                      edited, changed=changed, dreamAgent=position, dreamAction=action))
        if len(presets) == PRESET_MAZES:
            break
    return presets


def make_presets(q_nets):
    """Training mazes, the new site's mazes, production mazes and, when the trained agent loaded, its dreams."""
    kinds = (("training mazes", "training maze", make_training_mazes(PRESET_MAZES, TRAINING_PRESET_SEED)),
             ("new site: the exit elsewhere", "new site", make_moved_exit_mazes(PRESET_MAZES, NEW_SITE_PRESET_SEED)),
             ("production mazes", "production maze", make_production_mazes(PRESET_MAZES, PRODUCTION_PRESET_SEED)))
    presets = [preset(group, f"{name} {index + 1}", maze)
               for group, name, mazes in kinds for index, maze in enumerate(mazes)]
    if DREAMING_AGENT in q_nets:
        presets += dream_presets(q_nets[DREAMING_AGENT])
    else:
        print(f"playground: no {DREAMING_AGENT!r} agent, so no dreamt presets")
    return presets


def reference_mazes():
    """The mazes each agent's context is read on: the first of the walk-through's evaluation mazes of each kind."""
    return {"training": make_training_mazes(CONTEXT_REFERENCE_MAZES, EVALUATION_SEED),
            "production": make_production_mazes(CONTEXT_REFERENCE_MAZES, EVALUATION_SEED + 1)}


def page_data(loaded, agents=AGENTS):
    """Everything playground.js reads, as plain JSON: the world's rules and looks, the agents, the presets.
    `loaded`: {name: (q_net, metadata)} from load_agents(with_metadata=True)."""
    q_nets = {name: q_net for name, (q_net, _) in loaded.items()}
    mazes_by_kind = reference_mazes()
    exported = [dict(name=name, label=label, about=about(loaded[name][1]), file=os.path.relpath(path, REPO),
                     **export_agent(q_nets[name], mazes_by_kind))
                for name, label, path, about in agents if name in loaded]
    return {
        "width": MAZE_WIDTH,
        "cells": {"WALL": WALL, "EMPTY": EMPTY, "CROP": CROP, "HUMAN": HUMAN, "EXIT": EXIT},
        "textOfCell": {str(code): text for code, text in TEXT_OF_CELL.items()},
        "start": list(START),
        "corner": list(corner(MAZE_WIDTH)),
        "actionMoves": ACTION_MOVES.tolist(),
        "actionNames": list(ACTION_NAMES),
        "rewards": asdict(REWARDS),
        "gamma": GAMMA,
        "maxRolloutSteps": max_rollout_steps(MAZE_WIDTH),
        "cellColours": {str(code): colour for code, colour in CELL_COLOURS.items()},
        "glyphs": {str(code): list(glyph) for code, glyph in GLYPHS.items()},
        "agentColour": AGENT_COLOUR,
        "editColour": EDIT_COLOUR,
        "markColour": MARK_COLOUR,
        "agents": exported,
        "defaultAgent": DEFAULT_AGENT if DEFAULT_AGENT in loaded else (exported[0]["name"] if exported else None),
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
    loaded = load_agents(agents, with_metadata=True)
    html = build_page(page_data(loaded, agents))
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, PAGE_NAME)
    with open(path, "w", encoding="utf-8") as file:
        file.write(html)
    print(f"playground: {len(loaded)} of {len(agents)} agents, {time.perf_counter() - started:.1f} s")
    return path


if __name__ == "__main__":
    print(write_playground())
