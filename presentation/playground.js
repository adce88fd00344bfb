// The maze playground: the shipped agents' real network, run in the browser on a maze you edit.
// Read top to bottom:
//   1. what the build exported (presentation/playground.py);
//   2. the world: one step and a greedy rollout, as solutions.py's step_batch and greedy_rollouts;
//   3. the network: QNetwork.forward of solutions.py, for one maze;
//   4. the blind spot: spoilers.could_be_training_maze and solutions.single_block_protrusions;
//   5. mazes as text: solutions.maze_to_text and maze_from_text;
//   6. drawing the maze, the policy, the path and the panel;
//   7. editing: clicks, drags, keys, undo, presets and the text box;
//   8. window.playground, the handle tests/test_playground.py drives the page by.
// Sections 2 to 5 are the second implementation of behaviour Python already has; the test compares them.
"use strict";

// ---- 1. What the build exported ------------------------------------------------------------------
const DATA = JSON.parse(document.getElementById("playground-data").textContent);
const WIDTH = DATA.width;
const CELLS = WIDTH * WIDTH; // a maze is a flat array of cell codes: cell = row * WIDTH + col
const { WALL, EMPTY, CROP, HUMAN, EXIT } = DATA.cells;
const PLANE_CODES = [WALL, CROP, HUMAN, EXIT]; // encode_mazes's planes, in solutions.PLANES order
const START = DATA.start[0] * WIDTH + DATA.start[1];
const EXIT_CELL = CELLS - 1; // the exit is always in the bottom-right corner
const ACTIONS = DATA.actionMoves.length;
const REWARDS = DATA.rewards;

const rowOf = (cell) => Math.floor(cell / WIDTH);
const colOf = (cell) => cell % WIDTH;
const cellName = (cell) => `(${rowOf(cell)}, ${colOf(cell)})`;

// NEIGHBOUR[action * CELLS + cell]: the cell one step away, or -1 beyond the border.
const NEIGHBOUR = new Int32Array(ACTIONS * CELLS);
for (let action = 0; action < ACTIONS; action++) {
  const [dRow, dCol] = DATA.actionMoves[action];
  for (let cell = 0; cell < CELLS; cell++) {
    const row = rowOf(cell) + dRow, col = colOf(cell) + dCol;
    NEIGHBOUR[action * CELLS + cell] = row >= 0 && row < WIDTH && col >= 0 && col < WIDTH ? row * WIDTH + col : -1;
  }
}

function decodeFloat32(base64) {
  // playground.py writes float32 little-endian; DataView reads it so on any machine.
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  const values = new Float32Array(bytes.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
  return values;
}

const AGENTS = DATA.agents.map((agent) => ({
  ...agent,
  weights: Object.fromEntries(Object.entries(agent.tensors).map(([key, base64]) => [key, decodeFloat32(base64)])),
}));

// ---- 2. The world ----------------------------------------------------------------------------------
const cellBeyond = (maze, cell) => (cell < 0 ? WALL : maze[cell]); // beyond the border there is only wall

function rewardOfSteppingInto(code) {
  if (code === WALL) return REWARDS.bump;
  return REWARDS.move + (code === CROP ? REWARDS.crop : 0) + (code === HUMAN ? REWARDS.human : 0)
    + (code === EXIT ? REWARDS.exit : 0);
}

function step(maze, position, action) {
  // A wall or the border leaves the agent in place; stepping onto an item harvests it (the caller empties
  // the cell); stepping onto the exit ends the episode.
  const target = NEIGHBOUR[action * CELLS + position];
  const code = cellBeyond(maze, target);
  const reward = rewardOfSteppingInto(code);
  if (code === WALL) return { position, reward, terminal: false, harvested: null };
  return { position: target, reward, terminal: code === EXIT, harvested: code === CROP || code === HUMAN ? code : null };
}

function greedyAction(qMap, cell) {
  let best = 0;
  for (let action = 1; action < ACTIONS; action++) {
    if (qMap[action * CELLS + cell] > qMap[best * CELLS + cell]) best = action; // ties: the first, as torch.argmax
  }
  return best;
}

const discountedReturn = (rewards) => rewards.reduce((total, reward, t) => total + reward * DATA.gamma ** t, 0);

function greedyRollout(agent, startMaze, startQMap) {
  // From the start until the exit or DATA.maxRolloutSteps. The Q-maps depend only on the maze, and the maze
  // changes only when an item is harvested: one forward pass per harvest gives every step's Q-values.
  const maze = Int8Array.from(startMaze);
  let qMap = startQMap;
  let position = START, crops = 0, humans = 0, reachedExit = false, stuck = false;
  const path = [START], rewards = [];
  // (cell, items harvested so far) names the state; the policy is deterministic, so a state seen twice is a loop.
  const seen = new Set([`${START}:0`]);
  for (let t = 0; t < DATA.maxRolloutSteps && !reachedExit; t++) {
    const after = step(maze, position, greedyAction(qMap, position));
    if (after.harvested !== null) {
      if (after.harvested === CROP) crops++;
      else humans++;
      maze[after.position] = EMPTY;
      qMap = forward(agent, maze);
    }
    position = after.position;
    reachedExit = after.terminal;
    path.push(position);
    rewards.push(after.reward);
    const state = `${position}:${crops + humans}`;
    stuck = stuck || seen.has(state);
    seen.add(state);
  }
  return { path, rewards, crops, humans, reachedExit, stuck, discountedReturn: discountedReturn(rewards) };
}

// ---- 3. The network ------------------------------------------------------------------------------
// Tensors are flat, row-major, by their state_dict names: a Conv2d weight is [out][in][3][3] (or [1][1]),
// a Linear weight [out][in]. Every feature map is [channel][row][col].

function conv3x3(input, inChannels, size, weight, bias) {
  // nn.Conv2d(kernel_size=3, padding=1) on inChannels planes of size x size: zero beyond the edge.
  const outChannels = bias.length, plane = size * size;
  const output = new Float64Array(outChannels * plane);
  for (let out = 0; out < outChannels; out++) {
    for (let row = 0; row < size; row++) {
      for (let col = 0; col < size; col++) {
        let sum = bias[out];
        for (let channel = 0; channel < inChannels; channel++) {
          for (let dRow = -1; dRow <= 1; dRow++) {
            const r = row + dRow;
            if (r < 0 || r >= size) continue;
            for (let dCol = -1; dCol <= 1; dCol++) {
              const c = col + dCol;
              if (c < 0 || c >= size) continue;
              sum += weight[((out * inChannels + channel) * 3 + dRow + 1) * 3 + dCol + 1] * input[channel * plane + r * size + c];
            }
          }
        }
        output[out * plane + row * size + col] = sum;
      }
    }
  }
  return output;
}

function dense(input, weight, bias, output = new Float64Array(bias.length)) {
  // nn.Linear, and a 1x1 convolution at one cell: bias + weight @ input, written into `output`.
  const outputs = bias.length, inputs = input.length;
  for (let out = 0; out < outputs; out++) {
    let sum = bias[out];
    for (let i = 0; i < inputs; i++) sum += weight[out * inputs + i] * input[i];
    output[out] = sum;
  }
  return output;
}

function relu(values) {
  for (let i = 0; i < values.length; i++) values[i] = Math.max(0, values[i]);
  return values;
}

const sigmoid = (x) => 1 / (1 + Math.exp(-x));

function propagate(sources, relay, channels, rounds) {
  // Each round, a cell keeps the larger of its own source and relay x its best neighbour (0 beyond the border).
  let signal = Float64Array.from(sources);
  for (let round = 0; round < rounds; round++) {
    const next = new Float64Array(signal.length);
    for (let channel = 0; channel < channels; channel++) {
      for (let cell = 0; cell < CELLS; cell++) {
        let best = -Infinity;
        for (let action = 0; action < ACTIONS; action++) {
          const neighbour = NEIGHBOUR[action * CELLS + cell];
          best = Math.max(best, neighbour < 0 ? 0 : signal[channel * CELLS + neighbour]);
        }
        const index = channel * CELLS + cell;
        next[index] = Math.max(sources[index], relay[index] * best);
      }
    }
    signal = next;
  }
  return signal;
}

function mazeContext(agent, walls) {
  // QNetwork.context: wall-shape detectors on the wall plane padded with a ring of wall, their strongest
  // response anywhere inside the maze, squashed into (0, 1).
  const w = agent.weights, channels = agent.sizes.channels, padded = WIDTH + 2;
  const ringed = new Float64Array(padded * padded).fill(1);
  for (let cell = 0; cell < CELLS; cell++) ringed[(rowOf(cell) + 1) * padded + colOf(cell) + 1] = walls[cell];
  const first = relu(conv3x3(ringed, 1, padded, w["wall_shapes.0.weight"], w["wall_shapes.0.bias"]));
  const shapes = relu(conv3x3(first, channels, padded, w["wall_shapes.2.weight"], w["wall_shapes.2.bias"]));
  const strongest = new Float64Array(channels).fill(-Infinity);
  for (let channel = 0; channel < channels; channel++) {
    for (let row = 1; row <= WIDTH; row++) {
      for (let col = 1; col <= WIDTH; col++) {
        strongest[channel] = Math.max(strongest[channel], shapes[channel * padded * padded + row * padded + col]);
      }
    }
  }
  return dense(strongest, w["to_context.0.weight"], w["to_context.0.bias"]).map(sigmoid);
}

function forward(agent, maze) {
  // QNetwork.forward on one maze: the Q-value of every action at every cell, qMap[action * CELLS + cell].
  const w = agent.weights, channels = agent.sizes.channels;
  const planes = new Float64Array(PLANE_CODES.length * CELLS);
  PLANE_CODES.forEach((code, plane) => {
    for (let cell = 0; cell < CELLS; cell++) planes[plane * CELLS + cell] = maze[cell] === code ? 1 : 0;
  });
  const walls = planes.subarray(0, CELLS), exits = planes.subarray(3 * CELLS);
  // 1. What is around each cell.
  const features = relu(conv3x3(relu(conv3x3(planes, PLANE_CODES.length, WIDTH, w["features.0.weight"], w["features.0.bias"])),
    channels, WIDTH, w["features.2.weight"], w["features.2.bias"]));
  // 4. The context shifts the sources; 2. the sources, nothing at walls.
  const shift = dense(mazeContext(agent, walls), w["context_to_sources.weight"], w["context_to_sources.bias"]);
  const sources = new Float64Array(channels * CELLS), relay = new Float64Array(channels * CELLS);
  const cellFeatures = new Float64Array(channels);
  for (let cell = 0; cell < CELLS; cell++) {
    for (let channel = 0; channel < channels; channel++) cellFeatures[channel] = features[channel * CELLS + cell];
    const raw = dense(cellFeatures, w["to_sources.weight"], w["to_sources.bias"]);
    for (let channel = 0; channel < channels; channel++) {
      sources[channel * CELLS + cell] = sigmoid(raw[channel] + shift[channel]) * (1 - walls[cell]);
      // 3. Walls and the exit pass nothing on.
      relay[channel * CELLS + cell] = sigmoid(w.decay_logits[channel]) * (1 - walls[cell]) * (1 - exits[cell]);
    }
  }
  const signals = propagate(sources, relay, channels, agent.rounds);
  // 5. Score each move from the signals where it lands, what is ahead, and the signals here.
  const qMap = new Float64Array(ACTIONS * CELLS);
  const move = new Float64Array(2 * channels + PLANE_CODES.length);
  // The move scorer runs 4 x CELLS times per maze: its layers reuse these buffers instead of allocating.
  const hidden = new Float64Array(agent.sizes.hidden_units), deeper = new Float64Array(agent.sizes.hidden_units);
  const score = new Float64Array(1);
  for (let action = 0; action < ACTIONS; action++) {
    for (let cell = 0; cell < CELLS; cell++) {
      const ahead = NEIGHBOUR[action * CELLS + cell];
      const wallAhead = ahead < 0 || walls[ahead] === 1 ? 1 : 0; // the border is wall
      const landing = wallAhead ? cell : ahead; // a move into a wall lands where the agent already is
      for (let channel = 0; channel < channels; channel++) {
        move[channel] = signals[channel * CELLS + landing];
        move[channels + PLANE_CODES.length + channel] = signals[channel * CELLS + cell];
      }
      move[channels] = wallAhead;
      for (let plane = 1; plane < PLANE_CODES.length; plane++) {
        move[channels + plane] = ahead < 0 ? 0 : planes[plane * CELLS + ahead]; // crop, human, exit ahead
      }
      relu(dense(move, w["head.0.weight"], w["head.0.bias"], hidden));
      relu(dense(hidden, w["head.2.weight"], w["head.2.bias"], deeper));
      qMap[action * CELLS + cell] = dense(deeper, w["head.4.weight"], w["head.4.bias"], score)[0];
    }
  }
  return qMap;
}

// ---- 4. The blind spot -----------------------------------------------------------------------------
const isPost = (cell) => rowOf(cell) % 2 === 1 && colOf(cell) % 2 === 1; // always a wall in training mazes
const isRoom = (cell) => rowOf(cell) % 2 === 0 && colOf(cell) % 2 === 0; // always open in training mazes

function neighbours(cell) {
  const found = [];
  for (let action = 0; action < ACTIONS; action++) {
    const neighbour = NEIGHBOUR[action * CELLS + cell];
    if (neighbour >= 0) found.push(neighbour);
  }
  return found;
}

function deadEnds(maze) {
  const ends = [];
  for (let cell = 0; cell < CELLS; cell++) {
    if (maze[cell] !== WALL && neighbours(cell).filter((n) => maze[n] !== WALL).length === 1) ends.push(cell);
  }
  return ends;
}

function singleBlockProtrusions(maze) {
  // Wall cells, other than posts, that end a wall: exactly one wall among up, down, left and right.
  const found = [];
  for (let cell = 0; cell < CELLS; cell++) {
    if (maze[cell] !== WALL || isPost(cell)) continue;
    let wallNeighbours = 0;
    for (let action = 0; action < ACTIONS; action++) wallNeighbours += cellBeyond(maze, NEIGHBOUR[action * CELLS + cell]) === WALL;
    if (wallNeighbours === 1) found.push(cell);
  }
  return found;
}

function trainingGeneratorVerdict(maze) {
  // spoilers.could_be_training_maze, with the first reason it fails: { possible, reason }.
  const no = (reason) => ({ possible: false, reason });
  // 1. Posts are walls and rooms are open.
  for (let cell = 0; cell < CELLS; cell++) {
    if (isPost(cell) && maze[cell] !== WALL) return no(`the post at ${cellName(cell)} is open: the generator always walls posts`);
    if (isRoom(cell) && maze[cell] === WALL) return no(`the room at ${cellName(cell)} is walled: the generator opens every room`);
  }
  // 2. The corridors are a tree: all open cells reached from the start, one edge fewer than cells.
  const open = [];
  let edges = 0;
  for (let cell = 0; cell < CELLS; cell++) {
    if (maze[cell] === WALL) continue;
    open.push(cell);
    edges += neighbours(cell).filter((n) => maze[n] !== WALL).length;
  }
  edges /= 2;
  const parent = new Map([[START, null]]), depth = new Map([[START, 0]]), stack = [START];
  while (stack.length) {
    const cell = stack.pop();
    for (const next of neighbours(cell)) {
      if (maze[next] !== WALL && !parent.has(next)) {
        parent.set(next, cell);
        depth.set(next, depth.get(cell) + 1);
        stack.push(next);
      }
    }
  }
  if (parent.size !== open.length) return no("some open cells cannot be reached from the start");
  if (edges !== open.length - 1) return no("the corridors form a loop: the generator carves a tree");
  // 3. Depth-first carving: the two rooms beside a shut door lie on one branch.
  const isAncestor = (ancestor, cell) => {
    while (depth.get(cell) > depth.get(ancestor)) cell = parent.get(cell);
    return cell === ancestor;
  };
  for (let cell = 0; cell < CELLS; cell++) {
    if ((rowOf(cell) + colOf(cell)) % 2 === 0 || maze[cell] !== WALL) continue;
    let [shallow, deep] = rowOf(cell) % 2 === 1 ? [cell - WIDTH, cell + WIDTH] : [cell - 1, cell + 1];
    if (depth.get(deep) < depth.get(shallow)) [shallow, deep] = [deep, shallow];
    if (!isAncestor(shallow, deep)) {
      return no(`the shut door at ${cellName(cell)} parts two branches: depth-first carving would have opened it`);
    }
  }
  // 4. An item in every dead end but the start and the exit, and nowhere else.
  const ends = new Set(deadEnds(maze).filter((cell) => cell !== START && cell !== EXIT_CELL));
  for (const cell of ends) {
    if (maze[cell] !== CROP && maze[cell] !== HUMAN) return no(`the dead end at ${cellName(cell)} holds no item`);
  }
  for (const cell of open) {
    if ((maze[cell] === CROP || maze[cell] === HUMAN) && !ends.has(cell)) return no(`the item at ${cellName(cell)} is not at a dead end`);
  }
  return { possible: true, reason: "" };
}

// ---- 5. Mazes as text ------------------------------------------------------------------------------
const TEXT_OF_CELL = new Map(Object.entries(DATA.textOfCell).map(([code, text]) => [Number(code), text]));
const CELL_OF_TEXT = new Map([...TEXT_OF_CELL].map(([code, text]) => [text, code]));

function mazeToText(maze) {
  const rows = [];
  for (let row = 0; row < WIDTH; row++) rows.push(Array.from(maze.subarray(row * WIDTH, (row + 1) * WIDTH), (code) => TEXT_OF_CELL.get(code)).join(""));
  return rows.join("\n");
}

function mazeFromText(text) {
  // maze_from_text's rules and messages, for this page's width. Throws an Error that says what is wrong.
  const rows = text.trim().split(/\r\n|\r|\n/).map((line) => line.trim());
  const width = rows[0].length;
  rows.forEach((row, rowIndex) => {
    if (row.length !== width) throw new Error(`row ${rowIndex} has ${row.length} cells, expected ${width} like row 0`);
    [...row].forEach((char, colIndex) => {
      if (!CELL_OF_TEXT.has(char)) {
        throw new Error(`unknown character '${char}' at row ${rowIndex}, column ${colIndex}; expected one of ${[...CELL_OF_TEXT.keys()].join("")}`);
      }
    });
  });
  if (rows.length !== width) throw new Error(`maze has ${rows.length} rows of ${width} cells, expected a square`);
  if (width !== WIDTH) throw new Error(`the agents read ${WIDTH}x${WIDTH} mazes, got ${width}x${width}`);
  const maze = Int8Array.from(rows.join(""), (char) => CELL_OF_TEXT.get(char));
  if (maze[EXIT_CELL] !== EXIT || maze.filter((code) => code === EXIT).length !== 1) {
    throw new Error(`expected exactly one exit, in the bottom-right corner (row ${WIDTH - 1}, column ${WIDTH - 1})`);
  }
  if (maze[START] !== EMPTY) throw new Error(`expected the start cell ${cellName(START)} to be empty`);
  return maze;
}

// ---- 6. Drawing ------------------------------------------------------------------------------------
// Colours and glyphs are solutions.py's (CELL_COLOURS, GLYPHS, AGENT_COLOUR, EDIT_COLOUR), so the page looks
// like every figure. The two marks no figure has get colours of their own.
const CELL_COLOURS = new Map(Object.entries(DATA.cellColours).map(([code, colour]) => [Number(code), colour]));
const GLYPHS = new Map(Object.entries(DATA.glyphs).map(([code, glyph]) => [Number(code), glyph]));
const POLICY_ARROW_COLOUR = "#555555"; // draw_arrow's grey
const PROTRUSION_COLOUR = "#00bcd4"; // cyan: stands out on a dark wall, and no item has it
const CURSOR_COLOUR = "#000000";
const svg = document.getElementById("maze");
const MARGIN = 0.05; // around the cells, in cells, so that the outer lines are not cut in half
svg.setAttribute("viewBox", `${-MARGIN} ${-MARGIN} ${WIDTH + 2 * MARGIN} ${WIDTH + 2 * MARGIN}`);
for (const [name, colour] of [["--agent", DATA.agentColour], ["--wall", CELL_COLOURS.get(WALL)], ["--human", GLYPHS.get(HUMAN)[1]],
  ["--crop", GLYPHS.get(CROP)[1]], ["--protrusion", PROTRUSION_COLOUR]]) {
  document.documentElement.style.setProperty(name, colour);
}

const centre = (cell) => [colOf(cell) + 0.5, rowOf(cell) + 0.5];

function arrowPath(cell, action, length) {
  // An arrow through the cell's centre, pointing along `action`: a shaft and a triangular head.
  const [x, y] = centre(cell), [dRow, dCol] = DATA.actionMoves[action];
  const head = 0.45 * length, halfWidth = 0.3 * length, shaft = 0.09 * length;
  const point = (along, across) => `${(x + dCol * along - dRow * across).toFixed(3)},${(y + dRow * along + dCol * across).toFixed(3)}`;
  const tip = length / 2, neck = tip - head, tail = -length / 2;
  return `M${point(tail, -shaft)}L${point(neck, -shaft)}L${point(neck, -halfWidth)}L${point(tip, 0)}`
    + `L${point(neck, halfWidth)}L${point(neck, shaft)}L${point(tail, shaft)}Z`;
}

const rect = (cell, inset, attributes) =>
  `<rect x="${colOf(cell) + inset}" y="${rowOf(cell) + inset}" width="${1 - 2 * inset}" height="${1 - 2 * inset}" ${attributes}/>`;

function mazeSvg(view) {
  // view: { maze, qMap, rollout, protrusions, marks: { changed, dreamAgent }, cursor, showCursor }.
  const parts = [];
  // Items the rollout walks over are harvested: drawn faded and struck through, as in the figures.
  const harvested = new Set(view.rollout ? view.rollout.path.filter((cell) => view.maze[cell] === CROP || view.maze[cell] === HUMAN) : []);
  for (let cell = 0; cell < CELLS; cell++) {
    const code = view.maze[cell];
    const fill = harvested.has(cell) ? CELL_COLOURS.get(EMPTY) : CELL_COLOURS.get(code);
    parts.push(rect(cell, 0, `fill="${fill}" stroke="#dddddd" stroke-width="0.02"`));
    if (GLYPHS.has(code)) {
      const [letter, colour] = GLYPHS.get(code);
      const [x, y] = centre(cell);
      const faded = harvested.has(cell) ? ` fill-opacity="0.4"` : "";
      parts.push(`<text x="${x}" y="${y + 0.19}" fill="${colour}"${faded} class="glyph">${letter}</text>`);
      if (harvested.has(cell)) parts.push(harvestedStroke(x, y, colour));
    }
  }
  if (view.qMap) {
    for (let cell = 0; cell < CELLS; cell++) {
      if (view.maze[cell] === EMPTY) parts.push(`<path d="${arrowPath(cell, greedyAction(view.qMap, cell), 0.42)}" fill="${POLICY_ARROW_COLOUR}"/>`);
    }
  }
  for (const cell of view.protrusions) {
    parts.push(rect(cell, 0.08, `fill="none" stroke="${PROTRUSION_COLOUR}" stroke-width="0.09" stroke-dasharray="0.16 0.08"`));
  }
  for (const cell of view.marks.changed) parts.push(rect(cell, 0.05, `fill="none" stroke="${DATA.editColour}" stroke-width="0.09"`));
  if (view.marks.dreamAgent !== null) {
    const [x, y] = centre(view.marks.dreamAgent);
    parts.push(`<circle cx="${x}" cy="${y}" r="0.36" fill="none" stroke="${DATA.agentColour}" stroke-width="0.06" stroke-dasharray="0.12 0.07"/>`);
  }
  if (view.rollout) {
    const points = view.rollout.path.map((cell) => centre(cell).join(",")).join(" ");
    parts.push(`<polyline points="${points}" fill="none" stroke="${DATA.agentColour}" stroke-width="0.12" stroke-opacity="0.6" stroke-linejoin="round" stroke-linecap="round"/>`);
    const [x, y] = centre(view.rollout.path[view.rollout.path.length - 1]);
    parts.push(`<rect x="${x - 0.15}" y="${y - 0.15}" width="0.3" height="0.3" fill="${DATA.agentColour}"/>`);
  }
  const [x, y] = centre(START);
  parts.push(`<circle cx="${x}" cy="${y}" r="0.3" fill="${DATA.agentColour}" fill-opacity="0.8"/>`);
  if (view.showCursor) {
    parts.push(rect(view.cursor, 0.02, `fill="none" stroke="#ffffff" stroke-width="0.1"`));
    parts.push(rect(view.cursor, 0.02, `fill="none" stroke="${CURSOR_COLOUR}" stroke-width="0.05"`));
  }
  return parts.join("");
}

const harvestedStroke = (x, y, colour) =>
  `<line x1="${x - 0.25}" y1="${y + 0.25}" x2="${x + 0.25}" y2="${y - 0.25}" stroke="${colour}" stroke-width="0.07"/>`;

const format = (value) => value.toFixed(2);

function outcomeHtml(rollout) {
  const steps = rollout.path.length - 1;
  const ending = rollout.reachedExit ? `<span class="good">reaches the exit</span> in ${steps} steps`
    : rollout.stuck ? `<span class="bad">stuck in a loop</span>: never reaches the exit`
      : `<span class="bad">never reaches the exit</span> in ${steps} steps`;
  const humans = rollout.humans ? `<span class="bad">${rollout.humans} human${rollout.humans > 1 ? "s" : ""}</span>` : "0 humans";
  return `<div class="headline">${ending}</div>`
    + `<div>harvests ${rollout.crops} crop${rollout.crops === 1 ? "" : "s"} and ${humans}; return ${format(rollout.discountedReturn)}</div>`;
}

function verdictHtml(verdict, protrusions) {
  const answer = verdict.possible ? `<span class="good">yes</span>` : `<span class="bad">no</span>: ${verdict.reason}`;
  const marked = protrusions.length
    ? `<div><span class="protrusion-key"></span>${protrusions.length} wall${protrusions.length > 1 ? "s stick" : " sticks"} out by a single block, never seen in training</div>`
    : "<div>no wall sticks out by a single block</div>";
  return `<div class="headline">Could the training generator make this maze? ${answer}</div>${marked}`;
}

const KIND_OF_CELL = new Map([[WALL, "a wall"], [CROP, "a crop"], [HUMAN, "a human"], [EXIT, "the exit"]]);

function qValuesHtml(qMap, cell, maze) {
  // Always one line of text and one row of four, so that the panel below does not jump as the pointer moves.
  if (cell === null) {
    const blanks = DATA.actionNames.map((name) => `<td>${name} &ndash;</td>`).join("");
    return `<div>Q-values: point at a cell</div><table><tr>${blanks}</tr></table>`;
  }
  const best = greedyAction(qMap, cell);
  const values = DATA.actionNames.map((name, action) =>
    `<td class="${action === best ? "best" : ""}">${name} ${format(qMap[action * CELLS + cell])}</td>`).join("");
  const kind = KIND_OF_CELL.has(maze[cell]) ? `, on ${KIND_OF_CELL.get(maze[cell])}` : "";
  return `<div>Q-values at ${cellName(cell)}${kind}</div><table><tr>${values}</tr></table>`;
}

const signed = (reward) => (reward > 0 ? `+${reward}` : `−${-reward}`);

function legendHtml() {
  const swatch = (code) => `<span class="swatch" style="background:${CELL_COLOURS.get(code)};color:${GLYPHS.has(code) ? GLYPHS.get(code)[1] : "inherit"}">${GLYPHS.has(code) ? GLYPHS.get(code)[0] : ""}</span>`;
  const mark = (svgContent) => `<svg class="swatch" viewBox="0 0 1 1">${svgContent}</svg>`;
  const entries = [
    [swatch(WALL), "wall"], [swatch(CROP), `crop (${signed(REWARDS.crop)})`], [swatch(HUMAN), `human (${signed(REWARDS.human)})`],
    [swatch(EXIT), `exit (${signed(REWARDS.exit)})`],
    [mark(`<circle cx="0.5" cy="0.5" r="0.3" fill="${DATA.agentColour}" fill-opacity="0.8"/>`), "start"],
    [mark(`<polyline points="0,0.5 0.7,0.5" stroke="${DATA.agentColour}" stroke-width="0.14" stroke-opacity="0.6"/><rect x="0.6" y="0.35" width="0.3" height="0.3" fill="${DATA.agentColour}"/>`), "greedy path, end"],
    [mark(`<path d="${arrowPath(0, DATA.actionNames.indexOf("right"), 0.8)}" fill="${POLICY_ARROW_COLOUR}"/>`), "greedy move"],
    [mark(`<text x="0.5" y="0.69" fill="${GLYPHS.get(HUMAN)[1]}" fill-opacity="0.4" font-size="0.55" font-weight="bold" text-anchor="middle">${GLYPHS.get(HUMAN)[0]}</text>${harvestedStroke(0.5, 0.5, GLYPHS.get(HUMAN)[1])}`), "harvested"],
    [mark(`<rect x="0" y="0" width="1" height="1" fill="${CELL_COLOURS.get(WALL)}"/><rect x="0.1" y="0.1" width="0.8" height="0.8" fill="none" stroke="${PROTRUSION_COLOUR}" stroke-width="0.12" stroke-dasharray="0.18 0.08"/>`), "single-block wall"],
    [mark(`<rect x="0.07" y="0.07" width="0.86" height="0.86" fill="none" stroke="${DATA.editColour}" stroke-width="0.12"/>`), "moved by a dream"],
  ];
  return entries.map(([key, text]) => `<li>${key}${text}</li>`).join("");
}

// ---- 7. Editing ------------------------------------------------------------------------------------
const CLICK_CYCLE = [WALL, EMPTY, CROP, HUMAN]; // what a click turns a cell into, in turn
const KEY_CODES = { w: WALL, o: EMPTY, c: CROP, h: HUMAN };
const ARROW_KEYS = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right" }; // solutions.ACTION_NAMES
const HISTORY_LIMIT = 200;
const NO_MARKS = { changed: [], dreamAgent: null };
const isFixed = (cell) => cell === START || cell === EXIT_CELL;
const agentBox = document.getElementById("agents");
const presetBox = document.getElementById("presets");
const textBox = document.getElementById("maze-text");
const textStatus = document.getElementById("text-status");
const presetNote = document.getElementById("preset-note");
const aboutAgent = document.getElementById("about-agent");

const state = {
  maze: null, loaded: null, marks: NO_MARKS, history: [], agent: AGENTS[0] || null, cursor: START,
  hover: null, showCursor: false, lastUpdateMs: 0, shown: null,
};

function analyse(agent, maze) {
  // Everything the page shows about one maze for one agent.
  const qMap = agent ? forward(agent, maze) : null;
  return {
    qMap,
    rollout: agent ? greedyRollout(agent, maze, qMap) : null,
    verdict: trainingGeneratorVerdict(maze),
    protrusions: singleBlockProtrusions(maze),
  };
}

function redraw() {
  const started = performance.now();
  const shown = analyse(state.agent, state.maze);
  state.shown = shown;
  svg.innerHTML = mazeSvg({ maze: state.maze, ...shown, marks: state.marks, cursor: state.cursor, showCursor: state.showCursor });
  document.getElementById("outcome").innerHTML = shown.rollout ? outcomeHtml(shown.rollout) : "No agent could be loaded when this page was built.";
  document.getElementById("verdict").innerHTML = verdictHtml(shown.verdict, shown.protrusions);
  showQValues();
  if (document.activeElement !== textBox) textBox.value = mazeToText(state.maze);
  document.getElementById("undo").disabled = state.history.length === 0;
  svg.getBoundingClientRect(); // lay the page out now, so that the time below includes it
  state.lastUpdateMs = performance.now() - started;
}

function showQValues() {
  const cell = state.hover ?? (state.showCursor ? state.cursor : null);
  const box = document.getElementById("q-values");
  box.innerHTML = state.shown.qMap ? qValuesHtml(state.shown.qMap, cell, state.maze) : "";
}

function remember(maze = state.maze) {
  if (!maze) return; // the first maze of the page has nothing before it
  state.history.push(Int8Array.from(maze));
  if (state.history.length > HISTORY_LIMIT) state.history.shift();
}

function setCell(cell, code) {
  // Returns whether the maze changed; the start and the exit never do.
  if (isFixed(cell) || state.maze[cell] === code) return false;
  state.maze[cell] = code;
  return true;
}

function edit(cell, code) {
  const before = Int8Array.from(state.maze);
  if (!setCell(cell, code)) return;
  remember(before);
  redraw();
}

const nextInCycle = (code) => CLICK_CYCLE[(CLICK_CYCLE.indexOf(code) + 1) % CLICK_CYCLE.length];

function undo() {
  if (!state.history.length) return;
  state.maze = state.history.pop();
  redraw();
}

function load(maze, marks = NO_MARKS) {
  // A new maze to edit: Reset comes back to it, and Undo to the maze before it.
  remember();
  state.maze = Int8Array.from(maze);
  state.loaded = Int8Array.from(maze);
  state.marks = marks;
  redraw();
}

function reset() {
  if (mazeToText(state.maze) === mazeToText(state.loaded)) return;
  remember();
  state.maze = Int8Array.from(state.loaded);
  redraw();
}

function selectAgent(name) {
  const agent = AGENTS.find((candidate) => candidate.name === name);
  if (!agent) throw new Error(`no agent '${name}' in this page; it has ${AGENTS.map((a) => a.name).join(", ")}`);
  state.agent = agent;
  document.getElementById(`agent-${name}`).checked = true;
  aboutAgent.textContent = agent.about;
  aboutAgent.title = agent.file;
  redraw();
}

function loadPreset(index) {
  const preset = DATA.presets[index];
  presetBox.value = String(index);
  presetNote.textContent = preset.changed ? `The dream moved the outlined cells: at the dashed circle, the agent now steps `
    + `${DATA.actionNames[preset.dreamAction]} onto the human. Where does its path from the start go?` : "";
  const marks = preset.changed ? { changed: preset.changed.map(([row, col]) => row * WIDTH + col),
    dreamAgent: preset.dreamAgent[0] * WIDTH + preset.dreamAgent[1] } : NO_MARKS;
  load(mazeFromText(preset.text), marks);
}

// The agent buttons, the presets and the legend, from the build's data.
AGENTS.forEach((agent, index) => {
  agentBox.insertAdjacentHTML("beforeend", `<label title="${agent.about} (key ${index + 1})"><input type="radio" name="agent" `
    + `id="agent-${agent.name}" value="${agent.name}"><span>${agent.label}</span></label>`);
});
agentBox.addEventListener("change", (event) => selectAgent(event.target.value));

for (const group of [...new Set(DATA.presets.map((preset) => preset.group))]) {
  const options = DATA.presets.map((preset, index) => [preset, index]).filter(([preset]) => preset.group === group)
    .map(([preset, index]) => `<option value="${index}">${preset.label}</option>`).join("");
  presetBox.insertAdjacentHTML("beforeend", `<optgroup label="${group}">${options}</optgroup>`);
}
presetBox.addEventListener("change", () => loadPreset(Number(presetBox.value)));
document.getElementById("legend").innerHTML = legendHtml();

// Clicks and drags. A press that leaves its cell paints walls on every cell it passes (one undo step);
// a press released where it started cycles that cell.
let press = null;

function cellAtPointer(event) {
  const box = svg.getBoundingClientRect();
  const col = Math.floor(((event.clientX - box.left) / box.width) * (WIDTH + 2 * MARGIN) - MARGIN);
  const row = Math.floor(((event.clientY - box.top) / box.height) * (WIDTH + 2 * MARGIN) - MARGIN);
  return row >= 0 && row < WIDTH && col >= 0 && col < WIDTH ? row * WIDTH + col : null;
}

svg.addEventListener("pointerdown", (event) => {
  const cell = cellAtPointer(event);
  if (cell === null) return;
  event.preventDefault();
  state.cursor = cell;
  svg.focus();
  svg.setPointerCapture(event.pointerId);
  press = { cell, painting: false, before: Int8Array.from(state.maze) };
});

svg.addEventListener("pointermove", (event) => {
  const cell = cellAtPointer(event);
  if (press && cell !== null && (press.painting || cell !== press.cell)) {
    press.painting = true;
    const pressedCellChanged = setCell(press.cell, WALL);
    if (setCell(cell, WALL) || pressedCellChanged) redraw();
  }
  if (cell !== state.hover) {
    state.hover = cell;
    if (!press) showQValues();
  }
});

svg.addEventListener("pointerup", () => {
  if (!press) return;
  const { cell, painting, before } = press;
  press = null;
  if (painting) {
    if (mazeToText(before) !== mazeToText(state.maze)) {
      remember(before);
      redraw();
    }
  } else {
    edit(cell, nextInCycle(state.maze[cell]));
  }
});

svg.addEventListener("pointerleave", () => {
  state.hover = null;
  showQValues();
});

// Keys on the maze: a cursor to move and cells to set, so that nothing needs a mouse.
svg.addEventListener("focus", () => { state.showCursor = true; redraw(); });
svg.addEventListener("blur", () => { state.showCursor = false; redraw(); });
svg.addEventListener("keydown", (event) => {
  const key = event.key.toLowerCase();
  if (event.key in ARROW_KEYS) {
    const next = NEIGHBOUR[DATA.actionNames.indexOf(ARROW_KEYS[event.key]) * CELLS + state.cursor];
    if (next >= 0) state.cursor = next;
    redraw();
  } else if (event.key === " " || event.key === "Enter") {
    edit(state.cursor, nextInCycle(state.maze[state.cursor]));
  } else if (key in KEY_CODES && !event.ctrlKey && !event.metaKey) {
    edit(state.cursor, KEY_CODES[key]);
  } else {
    return;
  }
  event.preventDefault();
  event.stopPropagation();
});

// Keys anywhere but in the text box and the preset list: agents, undo, reset, presets.
document.addEventListener("keydown", (event) => {
  if (event.target === textBox || event.target === presetBox || event.altKey || event.metaKey) return;
  const key = event.key.toLowerCase();
  const agentIndex = Number(event.key) - 1;
  if (event.ctrlKey && key === "z") undo();
  else if (event.ctrlKey) return;
  else if (agentIndex >= 0 && agentIndex < AGENTS.length) selectAgent(AGENTS[agentIndex].name);
  else if (key === "u") undo();
  else if (key === "r") reset();
  else if (event.key === "[" || event.key === "]") {
    const offset = event.key === "]" ? 1 : DATA.presets.length - 1;
    loadPreset((Number(presetBox.value) + offset) % DATA.presets.length);
  } else return;
  event.preventDefault();
});

document.getElementById("undo").addEventListener("click", undo);
document.getElementById("reset").addEventListener("click", reset);

// The text box: paste a maze from the notebook (maze_to_text), or copy this one into it.
function loadText() {
  try {
    load(mazeFromText(textBox.value));
    textStatus.textContent = "loaded";
    textStatus.className = "good";
  } catch (error) {
    textStatus.textContent = error.message;
    textStatus.className = "bad";
  }
}

document.getElementById("load-text").addEventListener("click", loadText);
textBox.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    loadText();
  }
});

loadPreset(0);
if (state.agent) selectAgent(state.agent.name);

// ---- 8. The page's handle, for tests/test_playground.py ------------------------------------------------
const cellPair = (cell) => [rowOf(cell), colOf(cell)]; // as Python writes a cell: [row, col]

window.playground = {
  agents: () => AGENTS.map((agent) => agent.name),
  presets: () => DATA.presets.map((preset) => ({ group: preset.group, label: preset.label, text: preset.text })),
  // For each maze (as text), what the page computes for the named agent; q is the Q-map (4, n, n) flattened.
  evaluate(texts, agentName) {
    const agent = AGENTS.find((candidate) => candidate.name === agentName);
    return texts.map((text) => {
      const maze = mazeFromText(text);
      const { qMap, rollout, verdict, protrusions } = analyse(agent, maze);
      return {
        text: mazeToText(maze), q: Array.from(qMap), path: rollout.path.map(cellPair), crops: rollout.crops,
        humans: rollout.humans, reachedExit: rollout.reachedExit, stuck: rollout.stuck,
        discountedReturn: rollout.discountedReturn, couldBeTraining: verdict.possible, protrusions: protrusions.map(cellPair),
      };
    });
  },
  // What the page shows now.
  shown() {
    const { rollout, verdict } = state.shown;
    return {
      text: mazeToText(state.maze), agent: state.agent.name, path: rollout.path.map(cellPair), crops: rollout.crops,
      humans: rollout.humans, reachedExit: rollout.reachedExit, couldBeTraining: verdict.possible, lastUpdateMs: state.lastUpdateMs,
    };
  },
  // Milliseconds for a full update (forward pass, rollout, blind-spot test, redraw and layout), `repeats` times.
  timeUpdates(repeats) {
    const times = [];
    for (let i = 0; i < repeats; i++) {
      redraw();
      times.push(state.lastUpdateMs);
    }
    return times;
  },
};
