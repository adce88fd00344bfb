"""Build the workshop's slides: regenerate every figure and every quoted number from the shipped agents,
then turn every presentation/deck*.md into one self-contained HTML file (figures, styles and script
inlined, nothing fetched from a network), and conceptual_exercises.md into a page to hand out.

A deck never types a measured number: it writes {{name}}, and the build puts in the value that
slide_figures.py measured in the same run as the figures (numbers.json in the build's figures folder).

    python presentation/build.py            # about half a minute on a 2-core CPU; output in presentation/build/
    python presentation/build.py --small    # WORKSHOP_SMALL=1: fewer evaluation mazes, for tests
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import pypandoc

PRESENTATION_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(PRESENTATION_DIR)
DEFAULT_OUT = os.path.join(PRESENTATION_DIR, "build")
# Each writes PNGs/GIFs into <out>/figures. slide_figures.py runs the walk-through itself (solutions.py
# with the shipped trained agent, so no training), then draws the slides' figures and writes numbers.json.
FIGURE_SCRIPTS = (os.path.join(PRESENTATION_DIR, "slide_figures.py"),)
NUMBERS_FILE = "numbers.json"
PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")
HANDOUTS = ("conceptual_exercises.md",)

# Markdown images, ![alt](path "title"), and raw <img src="path"> in a deck; HTML comments are not
# shown, so an image named in one (a placeholder, say) is no reference.
IMAGE_PATTERNS = (re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)"), re.compile(r"<img[^>]*\ssrc=[\"']([^\"']+)"))
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)

COMMON_PANDOC_ARGS = [
    "--standalone",
    "--embed-resources",  # images become data: URIs, slides.css and slides.js are inlined
    "--mathml",  # browsers draw MathML themselves; MathJax or KaTeX would come from a CDN
]
DECK_PANDOC_ARGS = [
    "--slide-level=2",  # "## Title" starts a slide; "# Part" makes a divider slide
    f"--template={os.path.join(PRESENTATION_DIR, 'template.html')}",
]


def deck_paths():
    """Every deck, in order: presentation/deck1_*.md, deck2_*.md, ..."""
    return sorted(os.path.join(PRESENTATION_DIR, name) for name in os.listdir(PRESENTATION_DIR)
                  if name.startswith("deck") and name.endswith(".md"))


def referenced_images(markdown):
    """The image paths a Markdown document shows: Markdown images first, then raw <img> tags."""
    shown = HTML_COMMENT.sub("", markdown)
    return [match for pattern in IMAGE_PATTERNS for match in pattern.findall(shown)]


def make_figures(out, small):
    env = dict(os.environ, SKIP_TRAINING="1", FIGURE_DIR=os.path.join(out, "figures"), MPLBACKEND="Agg")
    if small:
        env["WORKSHOP_SMALL"] = "1"
    for script in FIGURE_SCRIPTS:
        started = time.perf_counter()
        # Their printed tables would bury the build's own lines; they are shown only on failure.
        result = subprocess.run([sys.executable, script], cwd=REPO, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"{os.path.relpath(script, REPO)} failed while making figures:\n{result.stdout}{result.stderr}")
        print(f"figures from {os.path.relpath(script, REPO)}: {time.perf_counter() - started:.1f} s")


def fill_in_numbers(source, out):
    """The deck's Markdown with every {{name}} replaced by the measured value; stops the build on a name
    that no script measured."""
    with open(source, encoding="utf-8") as file:
        markdown = file.read()
    names = set(PLACEHOLDER.findall(markdown))
    if not names:
        return markdown
    path = os.path.join(out, "figures", NUMBERS_FILE)
    if not os.path.exists(path):
        sys.exit(f"{os.path.relpath(source, REPO)} quotes measured numbers, but {path} does not exist: "
                 f"build without --skip-figures once")
    with open(path, encoding="utf-8") as file:
        numbers = json.load(file)
    unknown = sorted(names - set(numbers))
    if unknown:
        sys.exit(f"{os.path.relpath(source, REPO)} quotes numbers that slide_figures.py does not measure: "
                 f"{', '.join(unknown)}")
    return PLACEHOLDER.sub(lambda match: numbers[match.group(1)], markdown)


def check_images(source, out):
    """Fail with the list of missing figures, rather than let pandoc leave a broken link."""
    with open(source, encoding="utf-8") as file:
        images = referenced_images(file.read())
    missing = [image for image in images if not os.path.exists(os.path.join(out, image))]
    if missing:
        sys.exit(f"{os.path.relpath(source, REPO)} refers to figures that no script made: {', '.join(missing)}\n"
                 f"(figures come from {', '.join(os.path.relpath(s, REPO) for s in FIGURE_SCRIPTS)} "
                 f"and land in {os.path.relpath(out, REPO)}/figures/)")


def convert(source, out, to, extra_args):
    check_images(source, out)
    target = os.path.join(out, os.path.splitext(os.path.basename(source))[0] + ".html")
    # Figures are looked up in the build folder, slides.css and slides.js beside the decks.
    resource_path = os.pathsep.join((out, PRESENTATION_DIR))
    pypandoc.convert_text(fill_in_numbers(source, out), to, format="markdown-implicit_figures", outputfile=target,
                          extra_args=COMMON_PANDOC_ARGS + [f"--resource-path={resource_path}"] + extra_args)
    return target


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT, help="build folder (default: presentation/build)")
    parser.add_argument("--small", action="store_true", help="set WORKSHOP_SMALL=1 for the figure scripts")
    parser.add_argument("--skip-figures", action="store_true",
                        help="reuse the figures of the last build (when only the Markdown changed)")
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    if not args.skip_figures:
        make_figures(out, args.small)
    started = time.perf_counter()
    built = [convert(deck, out, "dzslides", DECK_PANDOC_ARGS) for deck in deck_paths()]
    built += [convert(os.path.join(PRESENTATION_DIR, name), out, "html5", []) for name in HANDOUTS]
    print(f"HTML: {time.perf_counter() - started:.1f} s")
    from playground import write_playground  # imports torch and the walk-through, which only a build needs
    built.append(write_playground(out))
    for path in built:
        print(f"  {os.path.relpath(path)} ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
