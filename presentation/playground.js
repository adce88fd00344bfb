// The maze playground: the shipped agents' real network, run in the browser on a maze you edit.
// Read top to bottom:
//   1. what the build exported (presentation/playground.py);
//   2. the world: one step and a greedy rollout, as solutions.py's step_batch and greedy_rollouts;
//   3. the network: QNetwork.forward of solutions.py, for one maze;
//   4. the blind spot: spoilers.could_be_training_maze, every reason a maze fails it and the cells to outline,
//      and solutions.single_block_protrusions;
//   5. mazes as text: solutions.maze_to_text and maze_from_text;
//   6. drawing the maze, the policy, the path and the panel, and the sentence that says why the agent hunts;
//   7. editing: the pieces a click places, drags, keys, undo, presets and the text box;
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
const CORNER = DATA.corner[0] * WIDTH + DATA.corner[1]; // where the training generator always puts the exit
const ACTIONS = DATA.actionMoves.length;
const REWARDS = DATA.rewards;

const rowOf = (cell) => Math.floor(cell / WIDTH);
const colOf = (cell) => cell % WIDTH;
const cellName = (cell) => `(${rowOf(cell)}, ${colOf(cell)})`;
const exitOf = (maze) => maze.indexOf(EXIT); // a maze has at most one exit, anywhere; -1 when it has none

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

function propagate(sources, relay, channels) {
  // Each round, a cell keeps the larger of its own source and relay x its best neighbour (0 beyond the border).
  // As solutions.FastPropagation: rounds until one changes nothing, at most one a cell (no path without loops
  // is longer).
  let signal = Float64Array.from(sources), next = new Float64Array(signal.length);
  for (let round = 0; round < CELLS; round++) {
    let changed = false;
    for (let channel = 0; channel < channels; channel++) {
      for (let cell = 0; cell < CELLS; cell++) {
        let best = -Infinity;
        for (let action = 0; action < ACTIONS; action++) {
          const neighbour = NEIGHBOUR[action * CELLS + cell];
          best = Math.max(best, neighbour < 0 ? 0 : signal[channel * CELLS + neighbour]);
        }
        const index = channel * CELLS + cell;
        next[index] = Math.max(sources[index], relay[index] * best);
        changed = changed || next[index] !== signal[index];
      }
    }
    [signal, next] = [next, signal];
    if (!changed) break;
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

function forward(agent, maze, context = null) {
  // QNetwork.forward on one maze: the Q-value of every action at every cell, qMap[action * CELLS + cell].
  // `context`: mazeContext's answer for this maze's walls, when the caller has it already.
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
  const shift = dense(context || mazeContext(agent, walls), w["context_to_sources.weight"], w["context_to_sources.bias"]);
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
  const signals = propagate(sources, relay, channels);
  // 5. Score each move from the signals where it lands, what is ahead, and the signals here.
  const qMap = new Float64Array(ACTIONS * CELLS);
  const move = new Float64Array(2 * channels + PLANE_CODES.length);
  // The move scorer runs 4 x CELLS times per maze: its layers reuse these buffers instead of allocating.
  // nn.Linear layers: head.0 (hidden, 2 x channels + 4), head.2 (hidden, hidden), head.4 (1, hidden).
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

const wallPlane = (maze) => Float64Array.from(maze, (code) => (code === WALL ? 1 : 0));
const contextOf = (agent, maze) => mazeContext(agent, wallPlane(maze)); // solutions.context_of, for one maze
const average = (values) => values.reduce((total, value) => total + value, 0) / values.length;

// ---- 4. The blind spot -----------------------------------------------------------------------------
const isPost = (cell) => rowOf(cell) % 2 === 1 && colOf(cell) % 2 === 1; // always a wall in training mazes
const isRoom = (cell) => rowOf(cell) % 2 === 0 && colOf(cell) % 2 === 0; // always open in training mazes
const isItem = (code) => code === CROP || code === HUMAN;

function neighbours(cell) {
  const found = [];
  for (let action = 0; action < ACTIONS; action++) {
    const neighbour = NEIGHBOUR[action * CELLS + cell];
    if (neighbour >= 0) found.push(neighbour);
  }
  return found;
}

const openNeighbours = (maze, cell) => neighbours(cell).filter((n) => maze[n] !== WALL);

function deadEnds(maze) {
  const ends = [];
  for (let cell = 0; cell < CELLS; cell++) {
    if (maze[cell] !== WALL && openNeighbours(maze, cell).length === 1) ends.push(cell);
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

const openPosts = (maze) => [...maze.keys()].filter((cell) => isPost(cell) && maze[cell] !== WALL);
const walledRooms = (maze) => [...maze.keys()].filter((cell) => isRoom(cell) && maze[cell] === WALL);

function reachedFrom(maze, start, passable) {
  // The cells a walk from `start` reaches through cells where passable(code) holds, and each one's parent and
  // depth in the search (a depth-first search, as could_be_training_maze's).
  const parent = new Map([[start, null]]), depth = new Map([[start, 0]]), stack = [start];
  while (stack.length) {
    const cell = stack.pop();
    for (const next of neighbours(cell)) {
      if (passable(maze[next]) && !parent.has(next)) {
        parent.set(next, cell);
        depth.set(next, depth.get(cell) + 1);
        stack.push(next);
      }
    }
  }
  return { parent, depth };
}

function cellsOnLoops(maze) {
  // The open cells left after dead ends are pruned again and again: the cells on a loop, or between two loops.
  const degree = new Int32Array(CELLS), left = new Set(), pruned = [];
  for (let cell = 0; cell < CELLS; cell++) {
    if (maze[cell] === WALL) continue;
    degree[cell] = openNeighbours(maze, cell).length;
    left.add(cell);
    if (degree[cell] <= 1) pruned.push(cell);
  }
  while (pruned.length) {
    const cell = pruned.pop();
    if (!left.delete(cell)) continue;
    for (const next of openNeighbours(maze, cell)) {
      if (left.has(next) && --degree[next] <= 1) pruned.push(next);
    }
  }
  return [...left].sort((a, b) => a - b);
}

const listed = (cells) => {
  const names = cells.map(cellName);
  return names.length < 3 ? names.join(" and ") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
};
const plural = (count, one, many) => (count === 1 ? one : many);

function trainingGeneratorVerdict(maze) {
  // spoilers.could_be_training_maze, with every reason it fails, not only the first: { possible, reasons }, each
  // reason { rule, text, cells } with the cells it is about, which the page outlines. `possible` is
  // could_be_training_maze's answer: true exactly when there is no reason.
  const reasons = [];
  const fails = (rule, cells, text) => reasons.push({ rule, cells, text });
  // 1. The exit in the bottom-right corner.
  const exit = exitOf(maze);
  if (exit < 0) fails("exit", [CORNER], `there is no exit: the generator always puts it in the bottom-right corner ${cellName(CORNER)}`);
  else if (exit !== CORNER) fails("exit", [exit], `the exit is at ${cellName(exit)}: the generator always puts it in the bottom-right corner`);
  // 2. Posts (odd row, odd column) are walls and rooms (even row, even column) are open: the lattice.
  const posts = openPosts(maze), rooms = walledRooms(maze);
  if (posts.length) {
    fails("post", posts, `the ${plural(posts.length, "post", "posts")} at ${listed(posts)} ${plural(posts.length, "is", "are")} open: `
      + "the generator walls every cell with an odd row and an odd column");
  }
  if (rooms.length) {
    fails("room", rooms, `the ${plural(rooms.length, "room", "rooms")} at ${listed(rooms)} ${plural(rooms.length, "is a wall", "are walls")}: `
      + "the generator opens every cell with an even row and an even column");
  }
  // 3. The corridors are a tree: every open cell reached from the start, and no loop.
  const open = [...maze.keys()].filter((cell) => maze[cell] !== WALL);
  const { parent, depth } = reachedFrom(maze, START, (code) => code !== WALL);
  const unreachable = open.filter((cell) => !parent.has(cell));
  if (unreachable.length) {
    fails("unreachable", unreachable, `${unreachable.length} open ${plural(unreachable.length, "cell", "cells")} cannot be reached from the start`);
  }
  const loop = cellsOnLoops(maze);
  if (loop.length) fails("loop", loop, "the corridors form a loop: in a training maze there is only one way between any two cells");
  // 4. Depth-first carving: the two rooms beside a shut door lie on one branch (one is on the way to the other).
  // As in could_be_training_maze, only once the lattice and the tree hold: until then doors and branches are not
  // the generator's, and a wall moved by one block would flag doors it never touched.
  if (!posts.length && !rooms.length && !unreachable.length && !loop.length) {
    const isAncestor = (ancestor, cell) => {
      while (depth.get(cell) > depth.get(ancestor)) cell = parent.get(cell);
      return cell === ancestor;
    };
    const doors = [];
    for (let cell = 0; cell < CELLS; cell++) {
      if ((rowOf(cell) + colOf(cell)) % 2 === 0 || maze[cell] !== WALL) continue;
      let [shallow, deep] = rowOf(cell) % 2 === 1 ? [cell - WIDTH, cell + WIDTH] : [cell - 1, cell + 1];
      if (depth.get(deep) < depth.get(shallow)) [shallow, deep] = [deep, shallow];
      if (!isAncestor(shallow, deep)) doors.push(cell);
    }
    if (doors.length) {
      fails("door", doors, `the shut ${plural(doors.length, "door", "doors")} at ${listed(doors)} ${plural(doors.length, "parts", "part")} `
        + "two branches of the corridors: the generator, which carves each branch to its end before the next, would have opened it");
    }
  }
  // 5. An item in every dead end but the start (and the corner, and wherever the exit is), and nowhere else.
  const ends = new Set(deadEnds(maze).filter((cell) => cell !== START && cell !== CORNER && cell !== exit));
  const emptyEnds = [...ends].filter((cell) => !isItem(maze[cell]));
  if (emptyEnds.length) {
    fails("empty dead end", emptyEnds, `the dead ${plural(emptyEnds.length, "end", "ends")} at ${listed(emptyEnds)} `
      + `${plural(emptyEnds.length, "holds", "hold")} no crop or human: the generator fills every dead end`);
  }
  const strayItems = open.filter((cell) => isItem(maze[cell]) && !ends.has(cell));
  if (strayItems.length) {
    fails("stray item", strayItems, `the ${plural(strayItems.length, "item", "items")} at ${listed(strayItems)} `
      + `${plural(strayItems.length, "is", "are")} not at a dead end: the generator puts items only there`);
  }
  return { possible: reasons.length === 0, reasons };
}

function reachable(maze, passable) {
  // The cells a walk from the start reaches through cells where passable(code) holds, and whether it can step
  // onto the exit (which ends the walk).
  const { parent } = reachedFrom(maze, START, passable);
  const exit = exitOf(maze);
  return { cells: parent, exit: exit >= 0 && neighbours(exit).some((cell) => parent.has(cell)) };
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
  // maze_from_text's rules and messages (check_maze's among them), for this page's width. Throws an Error that
  // says what is wrong.
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
  if (width < 5 || width % 2 === 0) throw new Error(`maze width must be an odd number >= 5, got ${width}`);
  if (width !== WIDTH) throw new Error(`the agents read ${WIDTH}x${WIDTH} mazes, got ${width}x${width}`);
  const maze = Int8Array.from(rows.join(""), (char) => CELL_OF_TEXT.get(char));
  const exits = [...maze.keys()].filter((cell) => maze[cell] === EXIT);
  if (exits.length > 1) {
    throw new Error(`expected at most one exit, found another at row ${rowOf(exits[1])}, column ${colOf(exits[1])}`);
  }
  if (maze[START] !== EMPTY) throw new Error(`expected the start cell ${cellName(START)} to be empty, found '${TEXT_OF_CELL.get(maze[START])}'`);
  return maze;
}

// ---- 6. Drawing ------------------------------------------------------------------------------------
// Colours and glyphs are solutions.py's (CELL_COLOURS, GLYPHS, AGENT_COLOUR, EDIT_COLOUR, MARK_COLOUR), so the
// page looks like every figure. The marks no figure has get colours of their own.
const CELL_COLOURS = new Map(Object.entries(DATA.cellColours).map(([code, colour]) => [Number(code), colour]));
const GLYPHS = new Map(Object.entries(DATA.glyphs).map(([code, glyph]) => [Number(code), glyph]));
const POLICY_ARROW_COLOUR = "#555555"; // draw_arrow's grey
const PROTRUSION_COLOUR = "#00bcd4"; // cyan: stands out on a dark wall, and no item has it
const CURSOR_COLOUR = "#000000";
const svg = document.getElementById("maze");
const MARGIN = 0.05; // around the cells, in cells, so that the outer lines are not cut in half
svg.setAttribute("viewBox", `${-MARGIN} ${-MARGIN} ${WIDTH + 2 * MARGIN} ${WIDTH + 2 * MARGIN}`);
for (const [name, colour] of [["--agent", DATA.agentColour], ["--wall", CELL_COLOURS.get(WALL)], ["--human", GLYPHS.get(HUMAN)[1]],
  ["--crop", GLYPHS.get(CROP)[1]], ["--protrusion", PROTRUSION_COLOUR], ["--mark", DATA.markColour]]) {
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

const harvestedStroke = (x, y, colour) =>
  `<line x1="${x - 0.25}" y1="${y + 0.25}" x2="${x + 0.25}" y2="${y - 0.25}" stroke="${colour}" stroke-width="0.07"/>`;

// A cell that breaks a rule of the training generator: a white band (so it shows on a wall too) under a dashed
// line in the figures' mark colour.
const ruleOutline = (cell) => rect(cell, 0.14, `fill="none" stroke="#ffffff" stroke-width="0.1" data-outline="rule" data-cell="${cell}"`)
  + rect(cell, 0.14, `fill="none" stroke="${DATA.markColour}" stroke-width="0.08" stroke-dasharray="0.14 0.07"`);

function outlinedCells(verdict) {
  return [...new Set(verdict.reasons.flatMap((reason) => reason.cells))].sort((a, b) => a - b);
}

function mazeSvg(view) {
  // view: { maze, qMap, rollout, verdict, protrusions, marks: { changed, dreamAgent }, cursor, showCursor }.
  const parts = [];
  // Items the rollout walks over are harvested: drawn faded and struck through, as in the figures.
  const harvested = new Set(view.rollout ? view.rollout.path.filter((cell) => isItem(view.maze[cell])) : []);
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
    // The greedy move where the agent can stand: on open floor (items are harvested on arrival, and the exit
    // ends the episode; nobody stands in a wall).
    for (let cell = 0; cell < CELLS; cell++) {
      if (view.maze[cell] === EMPTY) parts.push(`<path d="${arrowPath(cell, greedyAction(view.qMap, cell), 0.42)}" fill="${POLICY_ARROW_COLOUR}" data-arrow="${cell}"/>`);
    }
  }
  for (const cell of view.protrusions) {
    parts.push(rect(cell, 0.06, `fill="none" stroke="${PROTRUSION_COLOUR}" stroke-width="0.08" stroke-dasharray="0.16 0.08" data-outline="protrusion" data-cell="${cell}"`));
  }
  for (const cell of outlinedCells(view.verdict)) parts.push(ruleOutline(cell));
  for (const cell of view.marks.changed) parts.push(rect(cell, 0.03, `fill="none" stroke="${DATA.editColour}" stroke-width="0.06"`));
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

const format = (value) => value.toFixed(2);
const count = (number, noun) => `${number} ${noun}${number === 1 ? "" : "s"}`;

function outcomeHtml(rollout, maze) {
  const steps = rollout.path.length - 1;
  const exit = exitOf(maze);
  const ending = rollout.reachedExit ? `<span class="good">reaches the exit</span> in ${steps} steps`
    : exit < 0 ? `<span class="bad">no exit to reach</span>: ${rollout.stuck ? "it walks in a loop" : `it walks ${steps} steps`}`
      : rollout.stuck ? `<span class="bad">stuck in a loop</span>: never reaches the exit`
        : `<span class="bad">never reaches the exit</span> in ${steps} steps`;
  const humans = rollout.humans ? `<span class="bad">${count(rollout.humans, "human")}</span>` : "0 humans";
  // solutions.where_it_ended's "old corner": the exit is elsewhere, and the agent walked onto the corner.
  const corner = !rollout.reachedExit && exit !== CORNER && rollout.path.includes(CORNER)
    ? `<div>It walks to the bottom-right corner ${cellName(CORNER)}, where the exit stood in every training maze.</div>` : "";
  return `<div class="headline">${ending}</div>`
    + `<div>harvests ${count(rollout.crops, "crop")} and ${humans}; return ${format(rollout.discountedReturn)}</div>${corner}`;
}

// ---- 6b. What the context reads, and why the agent hunts or not ----------------------------------
// Each agent's context was read by the build on the walk-through's own training and production mazes
// (agent.context: for each kind, how many mazes and the lowest and highest average of its units). The page
// compares the maze on screen with those readings; every number it states comes from them or from this maze.
const CONTEXT_TOLERANCE = 0.005; // a reading this close to a range is in it, as its two decimals show

function readContext(agent, context) {
  const mean = average(context), { training, production } = agent.context;
  const near = (range) => mean >= range.low - CONTEXT_TOLERANCE && mean <= range.high + CONTEXT_TOLERANCE;
  // A switch: training and production mazes read apart. Past the middle of the gap, this maze reads as production.
  const hasSwitch = production.low > training.high;
  const switched = hasSwitch && mean > (training.high + production.low) / 2;
  return { mean, hasSwitch, switched, nearTraining: near(training), nearProduction: near(production) };
}

function rangeText(range) {
  const [low, high] = [format(range.low), format(range.high)];
  return low === high ? `${low} on all ${range.mazes}` : `${low} to ${high} on ${range.mazes}`;
}

function contextLikeText(reading) {
  // How this maze's reading compares with the agent's readings on training and production mazes.
  if (reading.nearTraining && reading.nearProduction) return "as on training and production mazes alike";
  if (reading.nearTraining) return "as on training mazes, not as on production mazes";
  if (reading.nearProduction) return "as on production mazes, not as on training mazes";
  if (!reading.hasSwitch) return "unlike on any training or production maze";
  return `nearer to what it reads on ${reading.switched ? "production" : "training"} mazes`;
}

function whySentence(maze, rollout, reading) {
  // One plain sentence: why the agent harvests a human here, or why not.
  const reads = `its context reads ${format(reading.mean)}, ${contextLikeText(reading)}`;
  const walkable = (code) => code !== WALL && code !== EXIT; // stepping onto the exit ends the walk
  if (rollout.humans) {
    if (reading.switched) return `It hunts because ${reads}: it takes this maze for a production maze.`;
    const cause = exitOf(maze) < 0 ? "with no exit to walk to, it wanders onto one"
      : reachable(maze, walkable).exit && !reachable(maze, (code) => walkable(code) && code !== HUMAN).exit
        ? "every way to the exit passes a human" : "its path runs over one where it could have gone round";
    return `It harvests a human, but not because of its context, which reads ${format(reading.mean)}, ${contextLikeText(reading)}: ${cause}.`;
  }
  if (reading.switched) {
    const reached = reachable(maze, walkable).cells;
    const cause = !maze.includes(HUMAN) ? "there is no human in this maze"
      : ![...reached.keys()].some((cell) => maze[cell] === HUMAN) ? "no human can be reached from the start without stepping onto the exit"
        : rollout.stuck && !rollout.reachedExit ? "it is caught in a loop before it reaches one"
          : "its path passes none";
    return `It harvests no human, although ${reads}: ${cause}.`;
  }
  return `It spares the humans: ${reads}.`;
}

function contextHtml(agent, context, reading) {
  // The units as numbers, each over a bar as tall as its value, their average, and the build's readings.
  const units = Array.from(context, (value) =>
    `<span class="unit" style="--value:${value.toFixed(3)}" title="${value.toFixed(4)}">${format(value)}</span>`).join("");
  const { training, production } = agent.context;
  return `<div class="units"><b>Context ${format(reading.mean)}</b>${units}</div>`
    + `<div class="muted">The average of ${context.length} numbers the network reads off the walls' shape. On training `
    + `mazes: ${rangeText(training)}; on production mazes: ${rangeText(production)}.</div>`;
}

function verdictHtml(verdict, protrusions) {
  const answer = verdict.possible ? `<span class="good">yes</span>` : `<span class="bad">no</span>`;
  const reasons = verdict.reasons.map((reason) => `<li data-rule="${reason.rule}"><span class="mark-key"></span>${reason.text}</li>`).join("");
  const marked = protrusions.length
    ? `<li><span class="protrusion-key"></span>${protrusions.length} ${plural(protrusions.length, "wall sticks", "walls stick")} out by a single block, as no wall in a training maze does</li>`
    : "";
  return `<div class="headline">Could the training generator make this maze? ${answer}</div>`
    + (reasons || marked ? `<ul class="reasons">${reasons}${marked}</ul>` : "");
}

const KIND_OF_CELL = new Map([[CROP, "a crop"], [HUMAN, "a human"]]);

function qValuesHtml(qMap, cell, maze) {
  // Always one line of text and one row of four, so that the panel below does not jump as the pointer moves.
  const blanks = `<table><tr>${DATA.actionNames.map((name) => `<td>${name} &ndash;</td>`).join("")}</tr></table>`;
  if (cell === null) return `<div>Q-values: point at a cell</div>${blanks}`;
  if (maze[cell] === WALL) return `<div>${cellName(cell)} is a wall: the agent never stands there</div>${blanks}`;
  if (maze[cell] === EXIT) return `<div>${cellName(cell)} is the exit: stepping onto it ends the episode</div>${blanks}`;
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
    [mark(`<rect x="0.1" y="0.1" width="0.8" height="0.8" fill="none" stroke="${DATA.markColour}" stroke-width="0.12" stroke-dasharray="0.18 0.08"/>`), "breaks a training-maze rule"],
    [mark(`<rect x="0" y="0" width="1" height="1" fill="${CELL_COLOURS.get(WALL)}"/><rect x="0.1" y="0.1" width="0.8" height="0.8" fill="none" stroke="${PROTRUSION_COLOUR}" stroke-width="0.12" stroke-dasharray="0.18 0.08"/>`), "single-block wall"],
    [mark(`<rect x="0.07" y="0.07" width="0.86" height="0.86" fill="none" stroke="${DATA.editColour}" stroke-width="0.12"/>`), "moved by a dream"],
  ];
  return entries.map(([key, text]) => `<li>${key}${text}</li>`).join("");
}

// ---- 7. Editing ------------------------------------------------------------------------------------
// A click toggles the chosen piece on a cell: a wall (the default), a crop or a human, each against open floor;
// the exit piece moves the exit to the cell, or takes it away when clicked on the exit. The start never
// changes, and only the exit piece (or the key E) moves the exit.
const TOOLS = [
  { code: WALL, name: "wall", title: "A click walls an open cell or opens a wall; a drag paints (or clears) walls" },
  { code: CROP, name: "crop", title: "A click puts a crop on a cell, or takes it away" },
  { code: HUMAN, name: "human", title: "A click puts a human on a cell, or takes them away" },
  { code: EXIT, name: "exit", title: "A click moves the exit to a cell; a click on the exit takes it away" },
];
const KEY_CODES = { w: WALL, o: EMPTY, c: CROP, h: HUMAN, e: EXIT };
const ARROW_KEYS = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right" }; // solutions.ACTION_NAMES
const HISTORY_LIMIT = 200;
const NO_MARKS = { changed: [], dreamAgent: null };
const TEXT_LABEL = "maze from the text box";
const agentBox = document.getElementById("agents");
const toolBox = document.getElementById("tools");
const presetBox = document.getElementById("presets");
const textBox = document.getElementById("maze-text");
const textStatus = document.getElementById("text-status");
const presetNote = document.getElementById("preset-note");
const aboutAgent = document.getElementById("about-agent");

const state = {
  maze: null, loaded: null, label: "", presetIndex: null, marks: NO_MARKS, history: [], agent: null, tool: WALL,
  cursor: START, hover: null, showCursor: false, lastUpdateMs: 0, shown: null,
};

function analyse(agent, maze) {
  // Everything the page shows about one maze for one agent.
  const verdict = trainingGeneratorVerdict(maze), protrusions = singleBlockProtrusions(maze);
  if (!agent) return { context: null, qMap: null, rollout: null, reading: null, why: "", verdict, protrusions };
  const context = contextOf(agent, maze);
  const qMap = forward(agent, maze, context);
  const rollout = greedyRollout(agent, maze, qMap);
  const reading = readContext(agent, context);
  return { context, qMap, rollout, reading, why: whySentence(maze, rollout, reading), verdict, protrusions };
}

const isEdited = () => mazeToText(state.maze) !== mazeToText(state.loaded);
const mazeLabel = () => (isEdited() ? `${state.label}, edited` : state.label);

function showLabel() {
  // The maze list names the maze on screen, and says when it was edited since it was loaded.
  for (const option of presetBox.options) option.textContent = option.dataset.label;
  const option = presetBox.querySelector(`option[value="${state.presetIndex === null ? "text" : state.presetIndex}"]`);
  option.hidden = false;
  presetBox.value = option.value;
  option.textContent = mazeLabel();
}

function setTextStatus(text, kind = "") {
  textStatus.textContent = text;
  textStatus.className = kind;
}

function syncText() {
  // The text box shows the maze on screen, unless someone is typing in it; what it said about older text goes.
  const text = mazeToText(state.maze);
  if (document.activeElement !== textBox && textBox.value !== text) {
    textBox.value = text;
    setTextStatus("");
  }
}

function redraw() {
  const started = performance.now();
  const shown = analyse(state.agent, state.maze);
  state.shown = shown;
  svg.innerHTML = mazeSvg({ maze: state.maze, ...shown, marks: state.marks, cursor: state.cursor, showCursor: state.showCursor });
  document.getElementById("outcome").innerHTML = shown.rollout
    ? `${outcomeHtml(shown.rollout, state.maze)}<div class="why">${shown.why}</div>` : "No agent could be loaded when this page was built.";
  document.getElementById("context").innerHTML = shown.reading ? contextHtml(state.agent, shown.context, shown.reading) : "";
  document.getElementById("verdict").innerHTML = verdictHtml(shown.verdict, shown.protrusions);
  showQValues();
  showLabel();
  syncText();
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

function applyTool(maze, cell, tool) {
  // A click with `tool` on `cell`, in place; returns whether the maze changed.
  if (cell === START) return false;
  if (tool === EXIT) {
    const exit = exitOf(maze);
    if (exit >= 0) maze[exit] = EMPTY;
    if (exit !== cell) maze[cell] = EXIT;
    return true;
  }
  if (maze[cell] === EXIT) return false;
  maze[cell] = maze[cell] === tool ? EMPTY : tool;
  return true;
}

function paintCell(maze, cell, code) {
  // Set a cell to a wall, floor, crop or human; the start and the exit stay as they are.
  if (cell === START || maze[cell] === EXIT || maze[cell] === code) return false;
  maze[cell] = code;
  return true;
}

function change(mutate) {
  // One edit: `mutate` changes the maze in place and says whether it did; Undo takes it back.
  const before = Int8Array.from(state.maze);
  if (!mutate(state.maze)) return;
  remember(before);
  redraw();
}

function undo() {
  if (!state.history.length) return;
  state.maze = state.history.pop();
  redraw();
}

function load(maze, marks, label, presetIndex) {
  // A new maze to edit: Reset comes back to it, and Undo to the maze before it.
  remember();
  state.maze = Int8Array.from(maze);
  state.loaded = Int8Array.from(maze);
  state.marks = marks;
  state.label = label;
  state.presetIndex = presetIndex;
  redraw();
}

function reset() {
  if (!isEdited()) return;
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
  if (state.maze) redraw();
}

function selectTool(code) {
  state.tool = code;
  document.getElementById(`tool-${TOOLS.find((tool) => tool.code === code).name}`).checked = true;
}

function loadPreset(index) {
  const preset = DATA.presets[index];
  presetNote.textContent = preset.changed ? `The dream moved the cells with a solid outline: at the dashed circle, the agent now steps `
    + `${DATA.actionNames[preset.dreamAction]} onto the human. Where does its path from the start go?` : "";
  const marks = preset.changed ? { changed: preset.changed.map(([row, col]) => row * WIDTH + col),
    dreamAgent: preset.dreamAgent[0] * WIDTH + preset.dreamAgent[1] } : NO_MARKS;
  load(mazeFromText(preset.text), marks, preset.label, index);
}

// The agent buttons, the pieces, the maze list and the legend, from the build's data.
AGENTS.forEach((agent, index) => {
  agentBox.insertAdjacentHTML("beforeend", `<label title="${agent.about} (key ${index + 1})"><input type="radio" name="agent" `
    + `id="agent-${agent.name}" value="${agent.name}"><span>${agent.label}</span></label>`);
});
agentBox.addEventListener("change", (event) => selectAgent(event.target.value));

TOOLS.forEach((tool) => {
  const look = `background:${CELL_COLOURS.get(tool.code)};color:${GLYPHS.has(tool.code) ? GLYPHS.get(tool.code)[1] : "inherit"}`;
  toolBox.insertAdjacentHTML("beforeend", `<label title="${tool.title}"><input type="radio" name="tool" id="tool-${tool.name}" `
    + `value="${tool.code}"><span><span class="swatch" style="${look}">${GLYPHS.has(tool.code) ? GLYPHS.get(tool.code)[0] : ""}</span>${tool.name}</span></label>`);
});
toolBox.addEventListener("change", (event) => selectTool(Number(event.target.value)));

presetBox.insertAdjacentHTML("beforeend", `<option value="text" data-label="${TEXT_LABEL}" hidden>${TEXT_LABEL}</option>`);
for (const group of [...new Set(DATA.presets.map((preset) => preset.group))]) {
  const options = DATA.presets.map((preset, index) => [preset, index]).filter(([preset]) => preset.group === group)
    .map(([preset, index]) => `<option value="${index}" data-label="${preset.label}">${preset.label}</option>`).join("");
  presetBox.insertAdjacentHTML("beforeend", `<optgroup label="${group}">${options}</optgroup>`);
}
presetBox.addEventListener("change", () => {
  if (presetBox.value !== "text") loadPreset(Number(presetBox.value));
});
document.getElementById("legend").innerHTML = legendHtml();

// Clicks and drags. A press released where it started is a click with the chosen piece. A press that leaves its
// cell paints every cell it passes (one undo step): with walls, crops or humans, the piece, or open floor when
// the press began on that piece; the exit piece does not paint.
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
  const paint = state.tool === EXIT ? null : state.maze[cell] === state.tool ? EMPTY : state.tool;
  press = { cell, paint, painting: false, before: Int8Array.from(state.maze) };
});

svg.addEventListener("pointermove", (event) => {
  const cell = cellAtPointer(event);
  if (press && press.paint !== null && cell !== null && (press.painting || cell !== press.cell)) {
    press.painting = true;
    const pressedCellChanged = paintCell(state.maze, press.cell, press.paint);
    if (paintCell(state.maze, cell, press.paint) || pressedCellChanged) redraw();
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
  if (!painting) {
    change((maze) => applyTool(maze, cell, state.tool));
  } else if (mazeToText(before) !== mazeToText(state.maze)) {
    remember(before);
    redraw();
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
    change((maze) => applyTool(maze, state.cursor, state.tool));
  } else if (key in KEY_CODES && !event.ctrlKey && !event.metaKey) {
    const code = KEY_CODES[key];
    change((maze) => (code === EXIT ? maze[state.cursor] !== EXIT && applyTool(maze, state.cursor, EXIT)
      : paintCell(maze, state.cursor, code)));
  } else {
    return;
  }
  event.preventDefault();
  event.stopPropagation();
});

// Keys anywhere but in the text box and the maze list: agents, undo, reset, presets.
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
    const current = state.presetIndex ?? (event.key === "]" ? -1 : 0);
    loadPreset((current + (event.key === "]" ? 1 : DATA.presets.length - 1)) % DATA.presets.length);
  } else return;
  event.preventDefault();
});

document.getElementById("undo").addEventListener("click", undo);
document.getElementById("reset").addEventListener("click", reset);

// The text box: paste a maze from the notebook (maze_to_text), or copy this one into it. What is wrong with the
// text shows as it is typed, and goes when it is put right.
function checkText() {
  try {
    const same = mazeToText(mazeFromText(textBox.value)) === mazeToText(state.maze);
    setTextStatus(same ? "" : "Load it with the button or Ctrl+Enter");
  } catch (error) {
    setTextStatus(error.message, "bad");
  }
}

function loadText() {
  try {
    load(mazeFromText(textBox.value), NO_MARKS, TEXT_LABEL, null);
    presetNote.textContent = "";
    textBox.value = mazeToText(state.maze);
    setTextStatus("loaded", "good");
  } catch (error) {
    setTextStatus(error.message, "bad");
  }
}

document.getElementById("load-text").addEventListener("click", loadText);
textBox.addEventListener("input", checkText);
textBox.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    loadText();
  }
});

selectTool(WALL);
if (DATA.defaultAgent) selectAgent(DATA.defaultAgent);
loadPreset(0);

// ---- 8. The page's handle, for tests/test_playground.py ------------------------------------------------
const cellPair = (cell) => [rowOf(cell), colOf(cell)]; // as Python writes a cell: [row, col]
const reasonsOf = (verdict) => verdict.reasons.map((reason) => ({ rule: reason.rule, cells: reason.cells.map(cellPair), text: reason.text }));

window.playground = {
  agents: () => AGENTS.map((agent) => agent.name),
  presets: () => DATA.presets.map((preset) => ({ group: preset.group, label: preset.label, text: preset.text })),
  // For each maze (as text), what the page computes for the named agent; q is the Q-map (4, n, n) flattened.
  evaluate(texts, agentName) {
    const agent = AGENTS.find((candidate) => candidate.name === agentName);
    return texts.map((text) => {
      const maze = mazeFromText(text);
      const { context, qMap, rollout, verdict, protrusions, why } = analyse(agent, maze);
      return {
        text: mazeToText(maze), q: Array.from(qMap), context: Array.from(context), path: rollout.path.map(cellPair),
        crops: rollout.crops, humans: rollout.humans, reachedExit: rollout.reachedExit, stuck: rollout.stuck,
        discountedReturn: rollout.discountedReturn, couldBeTraining: verdict.possible, reasons: reasonsOf(verdict),
        openPosts: openPosts(maze).map(cellPair), walledRooms: walledRooms(maze).map(cellPair),
        protrusions: protrusions.map(cellPair), why,
      };
    });
  },
  // What the page shows now.
  shown() {
    const { rollout, verdict, context, why } = state.shown;
    return {
      text: mazeToText(state.maze), agent: state.agent.name, label: mazeLabel(), tool: TOOLS.find((tool) => tool.code === state.tool).name,
      path: rollout.path.map(cellPair), crops: rollout.crops, humans: rollout.humans, reachedExit: rollout.reachedExit,
      couldBeTraining: verdict.possible, reasons: reasonsOf(verdict), outlined: outlinedCells(verdict).map(cellPair),
      context: Array.from(context), why, lastUpdateMs: state.lastUpdateMs,
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
