"""Checks for the exercises of the walk-through, and a grader for a whole exercises file.

After each exercise, `exercises.py` (and `solutions.py`) calls its check, e.g.
`check_bellman_target(bellman_target)`. The check runs your function and the reference in
`solutions.py` on chosen and seeded inputs, and prints either "passed" or what went wrong: on which
input, what was expected, what your function gave, which line of yours raised (if one did), and a
hint for the usual mistake. It returns True or False, and gives the same verdict every time. A
failure also says that the cells below use your function, and run on its wrong results until it passes.

The check calls your function as the walk-through does: with the same arguments, on inputs where the
walk-through puts them (networks and mazes on DEVICE, a GPU where there is one), several times where
training calls it again and again, and on the walk-through's hardest inputs (the longest ways out) within
a time limit. Your results must stay on the inputs' device. On a machine without a GPU, a function that
passes is called once more with those inputs on PyTorch's "meta" device, which stands in for a GPU (shapes,
no values): a tensor made without device=, or a .cpu() on the way, shows there too.

Whatever your function does, the check reports it instead of crashing: an exception anywhere (in your
code, or when the check uses your result, e.g. in backward()), wrong parameters, a wrong type or device,
a changed input, different results for the same input, a call far slower than the reference. It works on
copies, so nothing your function does can spoil the check's own inputs. Only an exercise not written yet
stops the walk-through, with its NotImplementedError, and says how to go on without it:
`use_reference("<name>")` (defined at the top of the walk-through) puts the reference version in its
place for every later cell.

Grade a whole file, one line per exercise (passed / failed / not yet):

    python checks.py                  # grades exercises.py
    python checks.py exercises.ipynb  # or your notebook, or any copy: python checks.py path/to/file.py

The grader runs the file cell by cell: a cell that does not run (a syntax error, say) is reported
by its number and first line, and every other exercise is still graded. A check, or a cell, still
running after a minute (an endless loop) is stopped and reported the same way.

Adding an exercise: mark its body in solutions.py (`# BEGIN exercise <name>` ... `# END exercise
<name>`, a `# Hint:` comment above), write `@exercise("<name>") def check_<name>(<name>): ...` here
(raise a Diagnosis for each problem it finds, and call the learner's function through `call`, with its
inputs where the walk-through puts them: `on_device`, and those on DEVICE named in `probe=`), call the check
in the cell after the exercise, add wrong versions and correct variants to tests/test_checks.py, and run
`python tools/make_notebooks.py`.
"""
import contextlib
import copy
import inspect
import linecache
import math
import operator
import os
import random
import re
import signal
import sys
import threading
import time
import traceback
import types
from dataclasses import dataclass, fields, is_dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

import solutions as reference
import spoilers
from solutions import (ACTION_NAMES, CROP, DEVICE, DOWN, EMPTY, EXIT, GAMMA, HUMAN, LEFT, REWARDS, RIGHT, START, UP,
                       WALL, Rewards)

CODE_NAMES = {WALL: "a wall", EMPTY: "an empty cell", CROP: "a crop", HUMAN: "a human", EXIT: "the exit"}


# ---------------------------------------------------------------------------------------------
# What a check reports


class Diagnosis(Exception):
    """What is wrong with the learner's function: a one-line problem (the grader's table shows it),
    the input it showed on, expected vs got, and a hint for the fix."""

    def __init__(self, problem, on=None, expected=None, got=None, hint=None, where=None):
        super().__init__(problem)
        self.problem, self.on, self.expected, self.got, self.hint, self.where = problem, on, expected, got, hint, where

    def details(self):
        lines = [f"on: {self.on}"] if self.on else []
        if self.expected is not None or self.got is not None:
            lines += [f"expected: {self.expected}", f"got:      {self.got}"]
        if self.where:
            lines.append(f"at: {self.where}")
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return lines


CHECKS = {}  # exercise name -> its check, in the order of the walk-through


def exercise(name, uses=()):
    """Register the decorated `check_<name>(function)` body, which raises a Diagnosis on the first
    problem it finds, as the check of exercise `name`: a function that prints and returns the verdict.
    `uses`: earlier exercises that the learner's function calls. Each must pass its own check first,
    so that a mistake there is reported there, not blamed on this exercise."""

    def register(find_problem):
        def check(function):
            try:
                diagnosis = diagnose(find_problem, function, uses)
            except NotImplementedError as error:  # a blank: the walk-through stops here, and says how to go on
                blank = blank_exercise(error)
                raise NotImplementedError(f"{error} (not written yet: write it and run its cell again, or go on "
                                          f"with the reference version: use_reference(\"{blank}\"))") from None
            if diagnosis is None:
                print(f"{name}: passed")
                return True
            print(f"{name}: failed: {diagnosis.problem}")
            for line in diagnosis.details() + [later_cells_warning(name)]:
                print("  " + line.replace("\n", "\n    "))
            return False

        check.__name__ = check.__qualname__ = find_problem.__name__
        check.__doc__ = find_problem.__doc__
        check.find_problem, check.uses = find_problem, uses
        find_problem.exercise = name
        CHECKS[name] = check
        return check

    return register


def later_cells_warning(name):
    return (f"beware: the cells below call your {name}, and until this check passes they run on its wrong results "
            f"(or stop with an error) without saying so. Fix it and run its cell and this one again, or go on with "
            f"the reference version: use_reference(\"{name}\") in a new cell")


def blank_exercise(error):
    """The exercise whose blank raised `error` (blanks raise NotImplementedError("<name>: <task>")), or None."""
    if not isinstance(error, NotImplementedError):
        return None
    name = str(error).split(":")[0]
    return name if name in CHECKS else None


# ---------------------------------------------------------------------------------------------
# Running the learner's code: seeded, on copies, every exception turned into a Diagnosis


# What the running check last handed to the learner's function: the exercise, the input's description and the
# hints for that call's exceptions. An exception raised later, e.g. in backward() on the result, names them too.
ATTEMPT = {}


def diagnose(find_problem, function, uses=()):
    """The Diagnosis of `function`, or None if it passes. Every exception raised while checking, in the
    learner's code or in the check's use of its result, becomes a Diagnosis; only the NotImplementedError
    of a blank exercise goes through. Seeded, and leaves the caller's random state alone. If it fails and
    one of the exercises it `uses` fails its own check, the diagnosis says so instead."""
    if not callable(function):
        return Diagnosis(f"expected a function, got {type(function).__name__}")
    ATTEMPT.clear()
    ATTEMPT.update(exercise=getattr(find_problem, "exercise", None))
    with random_state_kept(), deterministic_kernels():
        try:
            with time_limit(CHECK_TIME_LIMIT_S):
                find_problem(function)
                for probe in ATTEMPT.get("probes", []):  # only once it passes: a device mistake comes last
                    device_probe(**probe)
            return None
        except Diagnosis as found:
            diagnosis = found
        except TooSlow as error:
            diagnosis = Diagnosis(f"still running after {CHECK_TIME_LIMIT_S} s: an endless loop?", on=ATTEMPT.get("on"),
                                  where=learner_line(error, function),
                                  hint="the check's inputs are tiny, so the reference takes well under a second: look "
                                       "for a loop whose condition never turns false (a counter never increased, a "
                                       "queue that never empties)")
        except (Exception, SystemExit) as error:  # exit() in the learner's code must not end the grader
            if blank_exercise(error):
                raise
            diagnosis = crash_diagnosis(error, function)
    for used in uses:  # the learner's own version, as the learner's function calls it
        helper = getattr(function, "__globals__", {}).get(used)
        if callable(helper) and diagnose(CHECKS[used].find_problem, helper, CHECKS[used].uses) is not None:
            return Diagnosis(f"calls your {used}, which does not pass its own check yet",
                             hint=f"run the check cell after {used} to see what is wrong there, or go on with "
                                  f"use_reference(\"{used}\")")
    return diagnosis


CHECK_TIME_LIMIT_S = 60  # a check takes about a second; past this, the learner's code is stuck in a loop


class TooSlow(BaseException):
    """Raised into the learner's code when a check, a call inside it, or a cell being graded runs past its time
    limit (a BaseException, so that an `except Exception:` in the learner's loop cannot keep it going). `limit`:
    the time_limit that raised it."""

    def __init__(self, seconds, limit=None):
        super().__init__(f"still running after {seconds:g} s")
        self.limit = limit


@contextlib.contextmanager
def time_limit(seconds):
    """Raise TooSlow wherever the code inside is after `seconds`, so that an endless loop becomes a diagnosis and
    the grader still prints its table. Yields the limit, which the TooSlow it raises names. Only where Python can
    deliver a timer signal (not on Windows, not outside the main thread). Inside another limit that ends sooner,
    that one holds; one that ends later is put back afterwards, less the time spent."""
    limit = object()
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    enclosing = signal.getitimer(signal.ITIMER_REAL)[0] if usable else 0.0
    if not usable or 0 < enclosing <= seconds:
        yield limit
        return

    def stop(signal_number, frame):
        raise TooSlow(seconds, limit)

    started = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield limit
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if enclosing:
            signal.setitimer(signal.ITIMER_REAL, max(enclosing - (time.monotonic() - started), 0.001))


@contextlib.contextmanager
def random_state_kept():
    """Restore torch's, Python's (and numpy's, if loaded) random state afterwards."""
    python_state = random.getstate()
    numpy = sys.modules.get("numpy")
    numpy_state = numpy.random.get_state() if numpy else None
    with torch.random.fork_rng(devices=[torch.cuda.current_device()] if DEVICE.type == "cuda" else []):
        try:
            yield
        finally:
            random.setstate(python_state)
            if numpy:
                numpy.random.set_state(numpy_state)


@contextlib.contextmanager
def deterministic_kernels():
    """cuDNN's deterministic kernels inside, and its setting put back afterwards. A GPU may otherwise add up a
    gradient in another order at each run, and Adam's first steps, about lr whatever the gradient's size, would
    turn the sign of a tiny gradient into another result: the verdict must not depend on it."""
    saved = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved


def seed_everything(seed):
    torch.manual_seed(seed)
    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)


def call(function, inputs, on, may_change=(), change_hints=None, error_hints=None, unique=True, random_hint=None,
         device=None, device_hint=None, time_limit_s=None, slow_hint=None, probe=(), probe_with=None,
         probe_hint=None):
    """function(*inputs.values()), run as the walk-through would run it, but so that nothing it does can
    spoil the check:
    - only if it takes these arguments, in this order, as the walk-through passes them.
    - on fresh copies of the inputs, except those named in `may_change` (the check reads what the
      function did to them) and tensors that require grad (the check reads their .grad). A change to
      any other input is a Diagnosis (`change_hints`: input name -> hint); so is an input in `may_change`
      that ends up sharing memory with another input, as a network whose weights became the other's, or
      whose weights are no longer leaves of the autograd graph.
    - twice, under two seeds. Where the right answer is `unique`, two different results mean the
      function draws random numbers (`random_hint` says what to do instead).
    - each run within `time_limit_s` seconds, if given (`slow_hint`: the usual cause of a slow run).
    - a list that grows from the first run to the second is something kept from one call to the next.
    The result, and the inputs in `may_change`, must be on `device` (by default the one device of the inputs'
    tensors; `device_hint`: why there); the check reads a copy of the result on the CPU.
    `probe`: the inputs that the walk-through has on DEVICE, a GPU where there is one. If the check passes, `diagnose`
    runs the function once more with those on a stand-in for a GPU (see `device_probe`); `probe_with`: inputs to
    give it instead there (a network that runs without values, where the real one reads them); `probe_hint`: the
    usual cause of a device mismatch there.
    Exceptions go on to `diagnose`, which reports them on this input; `error_hints` maps a piece of an
    exception's message to a hint, ahead of the general EXCEPTION_HINTS."""
    ATTEMPT.update(on=on, error_hints=error_hints or {})
    raise_on_wrong_parameters(function, inputs, on)
    if probe:
        ATTEMPT.setdefault("probes", []).append(dict(
            function=function, inputs={**inputs, **(probe_with or {})}, on=on, names=probe, may_change=may_change,
            device=device, hint=probe_hint or device_hint, time_limit_s=time_limit_s))
    device = device or device_of(inputs)
    before = {name: fresh_copy(value) for name, value in inputs.items() if name not in may_change}
    shared_tensors = global_tensors(function)
    shared_before = {name: tensor.detach().clone() for name, tensor in shared_tensors.items()}
    torch_state = torch_switches()
    runs = []
    for seed in (1, 0):  # the second run is the one the check reads, and the only one given its objects
        given = {name: value if seed == 0 and (name in may_change or needs_grad(value)) else fresh_copy(value)
                 for name, value in inputs.items()}
        seed_everything(seed)
        try:
            with time_limit(time_limit_s) if time_limit_s else contextlib.nullcontext() as limit:
                result = function(*given.values())
                runs.append((snapshot(result), result, given))
        except TooSlow as error:
            if error.limit is not limit:
                raise
            raise Diagnosis(f"still running after {time_limit_s:g} s on one input, which the reference answers in "
                            f"milliseconds", on=on, where=learner_line(error, function), hint=slow_hint) from None
        finally:
            switched = [name for name, value in torch_switches().items() if value != torch_state[name]]
            restore_torch_switches(torch_state)  # every later cell runs with torch as it was
        if switched:
            raise Diagnosis(f"changed torch's global setting {switched[0]} for every later cell", on=on,
                            hint=TORCH_SWITCH_HINTS[switched[0]])
        for name, saved in shared_before.items():  # after each run: two runs could undo each other's change
            if not same(saved, shared_tensors[name]):
                shared_tensors[name].data = saved  # put it back: every later cell reads it
                raise Diagnosis(f"changed the global `{name}` in place", on=on,
                                hint=f"every later cell reads `{name}`: work on a copy (.clone()) or build a new "
                                     f"tensor")
    (first, _, first_given), (_, result, given) = runs
    if isinstance(first, list) and isinstance(result, list) and len(first) < len(result) \
            and same(result[:len(first)], first):
        raise Diagnosis("returned a longer list when called again with the same input: it keeps what it found from "
                        "one call to the next", on=on, expected=show(first), got=show(result),
                        hint="a default argument such as `found=[]` is made once, when the def runs, and every call "
                             "appends to that same list; so does a global list: start a new list inside the function "
                             "(found = []) at every call")
    for name, saved in before.items():
        if not same(saved, given[name]):
            if switched_requires_grad(saved, given[name]):
                raise Diagnosis(f"changed its input `{name}`: switched requires_grad of its weights", on=on,
                                hint="leave the network's requires_grad as it was: torch.no_grad() needs no switch, "
                                     "and the caller may train this network afterwards (backward() then finds no "
                                     "weight to update)")
            raise Diagnosis(f"changed its input `{name}`", on=on, hint=(change_hints or {}).get(
                name, "work on a copy (.clone(), list(...)) or build a new result instead of writing into the input"))
    for name in may_change:
        shared = next((other for other in inputs if other != name and shares_memory(given[name], given[other])), None)
        if shared:
            raise Diagnosis(f"afterwards `{name}` shares memory with `{shared}`", on=on,
                            hint=f"copy the values into `{name}` (copy_ or lerp_ under torch.no_grad()) instead of "
                                 f"making its tensors those of `{shared}` (x.data = y.data, or assigning a parameter "
                                 f"itself): from then on every change to `{shared}` would change `{name}` too")
        if isinstance(given[name], nn.Module) and any(not param.is_leaf for param in given[name].parameters()):
            raise Diagnosis(f"afterwards the weights of `{name}` are part of the autograd graph", on=on,
                            hint="a change in place to a network's weights (lerp_, copy_, mul_) must run under "
                                 "`with torch.no_grad():`, requires_grad switched off or not: without it autograd "
                                 "records the change, the weights stop being leaves, and the next call (training "
                                 "makes one after every step) raises")
    for what, value in [("the result", result)] + [(f"`{name}`", given[name]) for name in may_change]:
        stray = misplaced(value, device, what) if device else None
        if stray:
            raise Diagnosis(f"a device mismatch: {stray[0]} is on {stray[1]}, expected on {device}", on=on,
                            hint=device_hint or DEVICE_HINT)
    if unique and comparable(result):
        differing = next((name for name in may_change if not same(first_given[name], given[name])), None)
        if not same(first, result) or differing:
            shown = (first, result) if not same(first, result) or not differing else \
                (first_given[differing], given[differing])
            expected, got = differing_weights(*shown) if isinstance(shown[0], nn.Module) else map(show, shown)
            what = f" (`{differing}` differs afterwards)" if same(first, result) and differing else ""
            raise Diagnosis(f"gave two different results for the same input{what}", on=on, expected=expected, got=got,
                            hint=random_hint or "the result must depend on the inputs alone: no torch.rand, "
                                                "random.random, sampling or shuffling here")
    return on_cpu(result)


def snapshot(value):
    """A copy of a result as it is now, so that a later call changing it in place shows; the value itself where it
    cannot be copied."""
    try:
        return fresh_copy(value)
    except Exception:
        return value


def differing_weights(a, b):
    """What to show of two networks that differ: the first values of the first weights in which they do, or which
    weights require grad."""
    b_weights = b.state_dict()
    name = next((name for name, value in a.state_dict().items() if not same(value, b_weights.get(name))), None)
    if name is None:
        return tuple(f"requires_grad {[param.requires_grad for param in net.parameters()]}" for net in (a, b))
    return tuple(f"{name} starts {show(net.state_dict()[name].flatten()[:6])}" for net in (a, b))


def raise_on_wrong_parameters(function, inputs, on):
    """A Diagnosis unless `function` takes `inputs`, by position and in order, as the walk-through passes them."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # no signature to read (a builtin, say): the call itself will tell
        return
    try:
        signature.bind(*inputs.values())
    except TypeError as error:
        name = ATTEMPT["exercise"]
        raise Diagnosis(f"its parameters do not match the walk-through's call: {error}", on=on,
                        expected=shorten(f"def {name}{inspect.signature(getattr(reference, name))}"),
                        got=shorten(f"def {getattr(function, '__name__', name)}{signature}"),
                        hint=f"keep the def line as the exercise gives it, defaults included: the walk-through calls "
                             f"{name}({', '.join(inputs)}), with the arguments in this order") from None


# Where the walk-through puts its tensors: networks, mazes and what is computed from them live on DEVICE (CUDA
# or Apple's MPS where there is one), and each exercise must leave its results where its inputs are.
DEVICE_HINT = ("the walk-through runs on a GPU (CUDA or Apple's MPS) where there is one, with the inputs there: make "
               "every new tensor on the inputs' device (torch.zeros(..., device=x.device), torch.full_like(x, ...), "
               "torch.arange(n, device=x.device)), and no .cpu() or .to(\"cpu\") on the way")


def device_of(inputs):
    """The one device of all the tensors in `inputs` (a dict), or None if they have none or several."""
    devices = {tensor.device for value in inputs.values() for tensor in tensors_in(value)}
    return devices.pop() if len(devices) == 1 else None


def misplaced(value, device, what):
    """(what, device) for the first tensor in `value` (a tensor, a network, a dataclass, a list...) that is not on
    `device`, named as a part of `what`; None if every one is."""
    if isinstance(value, torch.Tensor):
        same_device = value.device.type == device.type and device.index in (None, value.device.index)
        return None if same_device else (what, value.device)
    if isinstance(value, nn.Module):
        parts = [(f"{what}.{name}", tensor) for name, tensor in list(value.named_parameters()) +
                 list(value.named_buffers())]
    elif is_dataclass(value) and not isinstance(value, type):
        parts = [(f"{type(value).__name__}.{f.name}", getattr(value, f.name)) for f in fields(value)]
    elif isinstance(value, (list, tuple)):
        parts = [(f"{what}[{index}]", item) for index, item in enumerate(value)]
    else:
        return None
    return next((stray for part, item in parts if (stray := misplaced(item, device, part))), None)


def on_cpu(value):
    """`value` with its tensors (in lists, tuples and dataclasses too) copied to the CPU, where the check reads them."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: on_cpu(getattr(value, f.name)) for f in fields(value) if f.init})
    if type(value) in (list, tuple):
        return type(value)(on_cpu(item) for item in value)
    return value


def on_device(value, device=DEVICE):
    """A copy of `value` (a tensor, or a dataclass of tensors such as Transitions) on `device`, where the
    walk-through puts it."""
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: on_device(getattr(value, f.name), device) for f in fields(value) if f.init})
    return value.to(device, copy=True)


def leaf_on_device(tensor, device=DEVICE):
    """A copy of `tensor` on `device` that requires grad, a leaf of the autograd graph: the check reads its .grad."""
    return tensor.detach().to(device, copy=True).requires_grad_(True)


# ---------------------------------------------------------------------------------------------
# The device probe: what a GPU would say, on a machine without one


# On a machine without a GPU, DEVICE is the CPU, and a tensor made without device= lands where the inputs are
# anyway. PyTorch's "meta" device stands in for a GPU: a meta tensor has a shape, a dtype and a device but no
# values, and an operation that mixes it with a CPU tensor (other than a single number) raises, as it would with a
# GPU tensor. Indexing a meta tensor with CPU index tensors works, as it does on a GPU.
PROBE_DEVICE = torch.device("meta")

# The messages of an operation that meets a meta tensor and a CPU tensor, where a GPU would raise too. Others
# (an operation meta does not implement, or one that reads values: .item(), .tolist(), nonzero) say nothing.
PROBE_DEVICE_ERRORS = ("is not on the expected device", "Expected all tensors to be on the same device",
                       "found at least two devices", "Expected tensor to have meta Device",
                       "Expected tensor to have cpu Device")

PROBE_ON = ("{names} on a GPU (this machine has none: the check put {them} on PyTorch's \"meta\" device, which stands "
            "in for one), and else as before: ")

PROBE_HINT = ("on a CPU-only machine this runs, but the walk-through runs on a GPU (CUDA or Apple's MPS) where there "
              "is one, with these inputs there: make every new tensor on the inputs' device (torch.zeros(..., "
              "device=x.device), torch.full_like(x, ...), torch.arange(n, device=x.device), or x.to(y.device)), and "
              "no .cpu() or .to(\"cpu\") on the way")


class CopyOutOfTheProbeDevice(getattr(torch.overrides, "TorchFunctionMode", object)):
    """While a probe runs, a copy of a meta tensor to the CPU (x.cpu(), x.to("cpu"), cpu_x[...] = x,
    cpu_x.copy_(x)) copies zeros, where a GPU tensor would copy its values (a meta tensor has none): a result that
    ends up on the CPU then shows as one."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}

        def on_probe(value):
            return isinstance(value, torch.Tensor) and value.device == PROBE_DEVICE

        if func in (torch.Tensor.cpu, torch.Tensor.to) and args and on_probe(args[0]):
            target, dtype = torch.device("cpu"), None
            if func is torch.Tensor.to:
                target, dtype = copy_target(args[1:], kwargs)
            if target is not None and target.type == "cpu":
                return torch.zeros(args[0].shape, dtype=dtype or args[0].dtype)
        written = {torch.Tensor.__setitem__: 2, torch.Tensor.copy_: 1}.get(func)
        if written and len(args) > written and isinstance(args[0], torch.Tensor) and not on_probe(args[0]) \
                and on_probe(args[written]):
            args = args[:written] + (torch.zeros(args[written].shape, dtype=args[written].dtype),) + \
                args[written + 1:]
        return func(*args, **kwargs)


def copy_target(args, kwargs):
    """(device or None, dtype or None) that a call x.to(*args, **kwargs) names."""
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    for arg in args:
        if isinstance(arg, torch.Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, torch.dtype):
            dtype = arg
        elif isinstance(arg, (str, torch.device, int)) and not isinstance(arg, bool):
            device = arg
    try:
        return (None if device is None else torch.device(device)), dtype
    except (RuntimeError, TypeError):
        return None, dtype


def on_probe_device(value):
    """A copy of `value` (a tensor, a network, a dataclass of tensors) on PROBE_DEVICE."""
    if isinstance(value, torch.Tensor):
        return value.detach().to(PROBE_DEVICE).requires_grad_(value.requires_grad)
    if isinstance(value, nn.Module):
        return copy.deepcopy(value).to(PROBE_DEVICE)
    return on_device(value, PROBE_DEVICE)


@contextlib.contextmanager
def device_is_the_probes(function):
    """DEVICE, where the learner's code and the walk-through's helpers read it, is PROBE_DEVICE inside: there a
    tensor made on DEVICE is on the GPU with the inputs."""
    spaces = [space for space in (getattr(function, "__globals__", None), vars(reference))
              if space is not None and isinstance(space.get("DEVICE"), torch.device)]
    saved = [space["DEVICE"] for space in spaces]
    for space in spaces:
        space["DEVICE"] = PROBE_DEVICE
    try:
        yield
    finally:
        for space, device in zip(spaces, saved):
            space["DEVICE"] = device


def device_probe(function, inputs, on, names, may_change=(), device=None, hint=None, time_limit_s=None):
    """Run `function` once more, with the inputs `names` on PROBE_DEVICE (the others as they are) and DEVICE there
    too, and raise a Diagnosis (`hint`: its usual cause here) if a GPU would raise a device error on this input, or if
    the result (or an input in `may_change`) ends up on another device than `device` (by default, the probe's). Any
    other exception, such as one from an operation that needs the values (.item(), .tolist(), nonzero, a boolean
    mask), says nothing."""
    if CopyOutOfTheProbeDevice.__bases__ == (object,):  # a torch too old for TorchFunctionMode
        return
    listed = " and ".join(f"`{name}`" for name in names)
    on = PROBE_ON.format(names=listed, them="it" if len(names) == 1 else "them") + on
    ATTEMPT.update(on=on, error_hints={})
    expected_device = device or PROBE_DEVICE
    torch_state, limit = torch_switches(), None
    try:
        given = {name: on_probe_device(value) if name in names else fresh_copy(value)
                 for name, value in inputs.items()}
        seed_everything(0)
        with device_is_the_probes(function), CopyOutOfTheProbeDevice(), \
                (time_limit(time_limit_s) if time_limit_s else contextlib.nullcontext()) as limit:
            result = function(*given.values())
    except (Exception, SystemExit) as error:
        text = str(error).strip()
        if "meta" in text and any(pattern in text for pattern in PROBE_DEVICE_ERRORS):
            raise Diagnosis(f"a device mismatch that would crash on a GPU: {type(error).__name__}: "
                            f"{shorten(text.splitlines()[0])}", on=on, where=learner_line(error, function),
                            hint=hint or PROBE_HINT) from None
        return  # inconclusive: meta cannot run this code, for another reason than a device
    except TooSlow as error:
        if limit is None or error.limit is not limit:
            raise
        return
    finally:
        restore_torch_switches(torch_state)
    for what, value in [("the result", result)] + [(f"`{name}`", given[name]) for name in may_change]:
        stray = misplaced(value, expected_device, what)
        if stray:
            there = "the GPU" if stray[1] == PROBE_DEVICE else f"the {str(stray[1]).upper()}"
            expected_there = "the GPU with the inputs" if expected_device == PROBE_DEVICE else \
                f"the {str(expected_device).upper()}"
            raise Diagnosis(f"a device mismatch that a GPU would show: {stray[0]} would be on {there}, not on "
                            f"{expected_there}", on=on, hint=hint or PROBE_HINT)


TORCH_SWITCH_HINTS = {
    "torch.is_grad_enabled()": "torch.set_grad_enabled(False) switches gradients off for the whole session, so "
                               "training and every later check lose their gradients: use `with torch.no_grad():` "
                               "around the lines that need no gradient",
    "torch.get_default_dtype()": "torch.set_default_dtype changes every tensor made afterwards: give the dtype where "
                                 "you make the tensor instead (dtype=...)",
}


def torch_switches():
    """torch's global settings that a learner's line can flip for the rest of the session."""
    return {"torch.is_grad_enabled()": torch.is_grad_enabled(), "torch.get_default_dtype()": torch.get_default_dtype()}


def restore_torch_switches(switches):
    torch.set_grad_enabled(switches["torch.is_grad_enabled()"])
    torch.set_default_dtype(switches["torch.get_default_dtype()"])


def global_tensors(function):
    """{name: tensor} for the tensors among the module-level names the learner's function can see, such as
    ACTION_MOVES: a function that writes into one changes every later cell."""
    names = getattr(function, "__globals__", {})
    return {name: value for name, value in list(names.items())
            if isinstance(value, torch.Tensor) and not name.startswith("_")}


def switched_requires_grad(before, after):
    """Whether `after`, a network, holds the same weights as `before` but not the same requires_grad switches."""
    return (isinstance(before, nn.Module) and isinstance(after, nn.Module)
            and same(before.state_dict(), after.state_dict()) and not same(before, after))


def tensors_in(value):
    """The tensors inside a value: a tensor, a network's weights and buffers, lists, tuples, dicts, dataclasses."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, nn.Module):
        return list(value.parameters()) + list(value.buffers())
    if isinstance(value, (list, tuple)):
        return [tensor for item in value for tensor in tensors_in(item)]
    if isinstance(value, dict):
        return [tensor for item in value.values() for tensor in tensors_in(item)]
    if is_dataclass(value) and not isinstance(value, type):
        return [tensor for f in fields(value) for tensor in tensors_in(getattr(value, f.name))]
    return []


def shares_memory(a, b):
    """Whether some tensor in `a` and some tensor in `b` hold their values in the same memory."""
    def storages(value):
        return {tensor.untyped_storage().data_ptr() for tensor in tensors_in(value) if tensor.numel()}

    return bool(storages(a) & storages(b))


def fresh_copy(value):
    if isinstance(value, torch.Tensor):  # deepcopy refuses tensors that are not leaves of the autograd graph
        return value.detach().clone().requires_grad_(value.requires_grad)
    return copy.deepcopy(value)


def needs_grad(value):
    return isinstance(value, torch.Tensor) and value.requires_grad


# Pieces of torch's messages when one operation meets tensors on two devices (CUDA, MPS, the CPU).
DEVICE_ERRORS = ("same device", "is not on the expected device", "Input type (torch.cuda", "weight type (torch.cuda",
                 "CUDAFloatType", "MPSFloatType")

# Hints for exceptions whose message alone would leave a learner guessing.
EXCEPTION_HINTS = (
    ("leaf Variable that requires grad", "an in-place operation (x[...] = ..., or a method ending in _) on a "
                                         "tensor that requires grad: build a new tensor instead"),
    ("modified by an inplace operation", "an in-place write (x[...] = ..., or a method ending in _) changed a "
                                         "tensor that the gradient still needs: build a new tensor instead "
                                         "(torch.where, masked_fill without the _)"),
    ("does not require grad and does not have a grad_fn", "no gradient reaches this value: no torch.no_grad(), "
                                                          ".detach() or .item() on the way to it"),
    ("backward through the graph a second time", "each backward() needs a graph of its own: compute the value "
                                                 "again, from the current tensors, before every backward()"),
    ("can't optimize a non-leaf Tensor", "an optimiser moves leaf tensors: x.clone().requires_grad_(True), not a "
                                         "tensor computed from one"),
    ("Can't call numpy() on Tensor that requires grad", "call .detach() first"),
    *((pattern, "tensors on two devices: " + DEVICE_HINT) for pattern in DEVICE_ERRORS),
    ("Boolean value of Tensor with more than one", "an `if`, `and`, `or` or `not` on a tensor of several values: "
                                                   "use torch.where, &, |, ~, .any() or .all()"),
    ("Index tensor must have the same number of dimensions", "gather needs an index with as many axes as its "
                                                             "input: add the missing ones with [:, None]"),
    ("Input type (", "the network's weights are float32: give it float32 planes, as encode_mazes makes them"),
    ("tensors used as indices must be", "index with long (int64) or bool tensors"),
    ("expected scalar type", "mixed dtypes: convert with .float() or .long()"),
    ("list indices must be integers or slices, not tuple", "a grid is a list of lists: grid[row][col]"),
)


def crash_diagnosis(error, function):
    """The Diagnosis of an exception met while checking `function`, on the input it was last given."""
    text = str(error).strip()
    message = shorten(text.splitlines()[0]) if text else ""
    hints = list(ATTEMPT.get("error_hints", {}).items()) + list(EXCEPTION_HINTS)
    hint = next((hint for pattern, hint in hints if pattern in text), None)
    where = learner_line(error, function)
    mismatch = "a device mismatch: " if any(pattern in text for pattern in DEVICE_ERRORS) else ""
    if where:
        return Diagnosis(f"{mismatch}raised {type(error).__name__}: {message}", on=ATTEMPT.get("on"), hint=hint,
                         where=where)
    return Diagnosis(f"{mismatch}{type(error).__name__} when the check used your result: {message}",
                     on=ATTEMPT.get("on"), hint=hint, where=check_line(error))


# The code files of the cells of a notebook being graded: their frames are the learner's.
LEARNER_CELLS = set()


def is_kernel_cell(filename):
    """Whether `filename` names the code of a Jupyter cell (ipykernel's temporary files, or older IPython's)."""
    return "ipykernel_" in filename or filename.startswith("<ipython-input")


def learner_line(error, function):
    """Where in the learner's code `error` was raised: the deepest of its frames in the learner's file or
    notebook cells, as 'line N of ... (in NAME): code', and the line of `function` that led there if that is
    another; None if it was raised outside the learner's code."""
    own_file = getattr(getattr(function, "__code__", None), "co_filename", None)
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if frame.filename == own_file or frame.filename in LEARNER_CELLS or is_kernel_cell(frame.filename)]
    if not frames:
        return None
    frame = frames[-1]
    # A comprehension runs as a frame of its own ("<listcomp>"): name the function around it.
    name = next((f.name for f in reversed(frames) if not f.name.startswith("<")), frame.name)
    if is_kernel_cell(frame.filename):
        place = f"line {frame.lineno} of your cell that defines {name}"
    else:
        place = f"line {frame.lineno} of {os.path.basename(frame.filename)} (in {name})"
    where = f"{place}: {frame.line}" if frame.line else place
    # Raised in a helper the walk-through gave (one_step_away, say): the line of the exercise that called it.
    own_name = getattr(function, "__name__", None)
    callers = [f for f in frames[:-1] if f.name == own_name]
    if name != own_name and callers:
        where += f"; called from line {callers[-1].lineno} (in {own_name}): {callers[-1].line}"
    return where


def check_line(error):
    """The check's own line that met `error`, for an exception raised outside the learner's code."""
    here = os.path.abspath(__file__)
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if os.path.abspath(frame.filename) == here]
    return f"the check ran `{frames[-1].line}` on your result" if frames and frames[-1].line else None


def same(a, b):
    """Equal values, looking inside tensors (NaN equals NaN), networks (their weights and which of them
    require grad), random generators, lists, dicts and dataclasses."""
    if isinstance(a, torch.Tensor):
        if not (isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype and a.device == b.device):
            return False
        a, b = a.detach(), b.detach()
        return torch.equal(a, b) or (a.is_floating_point() and torch.allclose(a, b, rtol=0, atol=0, equal_nan=True))
    if isinstance(a, nn.Module):
        return isinstance(b, nn.Module) and same(a.state_dict(), b.state_dict()) and same(
            [param.requires_grad for param in a.parameters()], [param.requires_grad for param in b.parameters()])
    if isinstance(a, random.Random):
        return isinstance(b, random.Random) and a.getstate() == b.getstate()
    if isinstance(a, torch.Generator):
        return isinstance(b, torch.Generator) and torch.equal(a.get_state(), b.get_state())
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(same(getattr(a, f.name), getattr(b, f.name)) for f in fields(a))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:  # e.g. an array of several values: not the same as far as we can tell
        return False


def comparable(value):
    """Whether `same` compares such a value by its contents (for anything else, == may be identity)."""
    if isinstance(value, (torch.Tensor, nn.Module, random.Random, torch.Generator, int, float, complex, str, bytes,
                          type(None))):
        return True
    if isinstance(value, (list, tuple)):
        return all(comparable(item) for item in value)
    if isinstance(value, dict):
        return all(comparable(item) for item in value.values())
    if is_dataclass(value) and not isinstance(value, type):
        return all(comparable(getattr(value, f.name)) for f in fields(value))
    return False


# ---------------------------------------------------------------------------------------------
# Showing and comparing values


def shorten(text, limit=200):
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def show(value):
    """A value as a learner would like to read it: rounded floats, at most a couple of lines."""
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).replace("torch.", "")
        value = value.detach().cpu()
        if value.dtype.is_floating_point:
            value = value.double().round(decimals=4)
        return shorten(f"{value.tolist()} (shape {tuple(value.shape)}, {dtype})", 400)
    if isinstance(value, float):
        return f"{value:.4f}"
    if is_grid(value):
        return maze_text(value)
    return shorten(re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value)), 400)  # an address changes from run to run


def is_grid(value):
    """Whether `value` is a maze as a list of lists: square, at least 5 wide, every entry a cell code."""
    return (isinstance(value, list) and len(value) >= 5 and all(isinstance(row, list) and len(row) == len(value)
                                                                 for row in value)
            and all(type(code) is int and code in reference.TEXT_OF_CELL for row in value for code in row))


def kind(dtype):
    if dtype == torch.bool:
        return "bool"
    return "float" if dtype.is_floating_point else "integer"


def expect_tensor(got, expected, on, what="the result", shape_hints=None, kind_hint=None, dtype_reason=None):
    """Raise a Diagnosis unless `got` is a tensor shaped like `expected`, of the same kind (float,
    integer or bool), or of exactly its dtype where `dtype_reason` says what another dtype would break.
    `shape_hints` maps a wrong shape (a tuple) to its usual cause."""
    if got is None:
        raise Diagnosis(f"{what} is None, expected a tensor", on=on, expected=show(expected), got="None",
                        hint="the function ends without `return ...`: return the tensor you computed")
    if not isinstance(got, torch.Tensor):
        raise Diagnosis(f"{what} is a {type(got).__name__}, expected a tensor", on=on, expected=show(expected),
                        got=show(got), hint="return the tensor itself, not .item(), .tolist() or a tuple")
    if got.shape != expected.shape:
        hint = (shape_hints or {}).get(tuple(got.shape))
        raise Diagnosis(f"{what} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}", on=on,
                        expected=show(expected), got=show(got), hint=hint)
    if kind(got.dtype) != kind(expected.dtype):
        article = "an" if kind(expected.dtype) == "integer" else "a"
        raise Diagnosis(f"{what} has dtype {got.dtype}, expected {article} {kind(expected.dtype)} tensor", on=on,
                        expected=show(expected), got=show(got), hint=kind_hint)
    if dtype_reason and got.dtype != expected.dtype:
        raise Diagnosis(f"{what} has dtype {got.dtype}, expected {expected.dtype}", on=on, hint=dtype_reason)


def float32_reason(why):
    """The hint for a float tensor of another dtype than float32, where `why` says where the walk-through uses it."""
    return (f"keep float32, the dtype of every float tensor in the walk-through ({why}): Apple's MPS GPUs have no "
            f"float64 and raise on it, and the network's weights are float32. No .double() or dtype=torch.float64, "
            f"and no float64 tensor mixed in (a torch.tensor made from a Python float is float32 by default)")


TOLERANCE = 1e-4  # float32 arithmetic done in another order differs by far less


def differs(got, expected):
    """Elementwise: where two tensors of the same shape differ by more than TOLERANCE (a NaN equals a NaN)."""
    return ~torch.isclose(got.detach().cpu().double(), expected.detach().cpu().double(), atol=TOLERANCE,
                          rtol=TOLERANCE, equal_nan=True)


def close(got, expected):
    """Same values (to TOLERANCE); False for any other shape or type, never an exception."""
    if isinstance(expected, torch.Tensor):
        return isinstance(got, torch.Tensor) and got.shape == expected.shape and not differs(got, expected).any()
    try:
        return math.isclose(float(got), float(expected), abs_tol=TOLERANCE, rel_tol=TOLERANCE)
    except (TypeError, ValueError):
        return False


def recognise(got, expected, mistakes, on, problem="wrong values", hint=None, nan_hint=None):
    """Raise a Diagnosis unless `got` equals `expected`. `mistakes`: (problem, hint, what that mistake
    would give, or None where it does not apply) triples. The diagnosis names a mistake only if `got`
    equals what that one mistake gives and no other: a hint that belongs to another mistake misleads.
    A NaN where the reference has a number is named as such (`nan_hint`: its usual cause here)."""
    if close(got, expected):
        return
    mistake = known_mistake(got, mistakes)
    problem, hint = mistake or (problem, hint)
    if not mistake and isinstance(got, torch.Tensor) and got.is_floating_point() \
            and isinstance(expected, torch.Tensor) and got.shape == expected.shape \
            and (got.isnan() & ~expected.isnan()).any():
        problem, hint = "the result holds NaN (not a number)", nan_hint or (
            "a NaN comes from 0 * inf, inf - inf or 0 / 0 somewhere on the way")
    raise Diagnosis(problem, on=on, expected=show(expected), got=show(got), hint=hint)


def raise_if_an_earlier_answer(got, expected, earlier, on):
    """A Diagnosis if `got` is wrong and equals what the function returned for an earlier input (`earlier`):
    a result remembered from one call to the next, instead of computed from the inputs."""
    if not close(got, expected) and any(close(got, answer) for answer in earlier):
        raise Diagnosis("returned its answer to an earlier input of the same shape", on=on, expected=show(expected),
                        got=show(got), hint="compute the result from the inputs of this call: nothing remembered from "
                                            "one call to the next (no cache or global kept between calls)")
    earlier.append(got)


def known_mistake(got, mistakes):
    """The (problem, hint) of the one mistake of `mistakes` (as in `recognise`) that gives exactly `got`, shape
    included, or None if none or several do. Checked before the shape, it names a mistake that changes the shape."""
    matches = [(problem, hint) for problem, hint, mistaken in mistakes if mistaken is not None and close(got, mistaken)]
    return matches[0] if len({problem for problem, _ in matches}) == 1 else None


def mistaken(compute):
    """What a mistake gives, compute(), or None where it raises on this input (as it would in the learner's code)."""
    try:
        return compute()
    except RuntimeError:
        return None


def the_mistake(mistakes, matches):
    """The one (problem, hint, rule) of `mistakes` whose rule `matches`, or None if none or several do."""
    found = [mistake for mistake in mistakes if matches(mistake[2])]
    return found[0] if len(found) == 1 else None


def maze_text(maze):
    """A maze (a tensor or a list of lists), one row a line as in maze_to_text, on a new line. It draws
    whatever it is given, '?' for a code that is no cell code: the check shows the learner's mazes too."""
    try:
        rows = maze.tolist() if isinstance(maze, torch.Tensor) else maze
        return "\n" + "\n".join("".join(reference.TEXT_OF_CELL.get(code, "?") for code in row) for row in rows)
    except TypeError:  # not a grid at all
        return show(maze)


def as_cells(got, on, expected, reason, tuples_reason=None, none_hint=None):
    """`got` as a list of (row, col) tuples of ints; a Diagnosis unless it is a list (or tuple) of pairs of
    integers. `reason`: what breaks later in the walk-through if it is something else. `tuples_reason`, where
    a [row, col] list would break something that a (row, col) tuple does not: what, and a pair must be a tuple.
    `none_hint`: the usual cause of a None, where there is another than a missing `return`."""
    def is_integer(x):
        return not isinstance(x, bool) and hasattr(x, "__index__") and getattr(x, "ndim", 0) == 0

    if got is None:
        raise Diagnosis("returned None, expected a list of (row, col) pairs", on=on, expected=show(expected),
                        got="None", hint=none_hint or "the function ends without `return ...`: return the list")
    if isinstance(got, (list, tuple)):
        bad = next((cell for cell in got if not (isinstance(cell, (list, tuple)) and len(cell) == 2
                                                 and all(is_integer(x) for x in cell))), None)
        if bad is None and tuples_reason and any(isinstance(cell, list) for cell in got):
            raise Diagnosis("the cells are [row, col] lists, expected (row, col) tuples", on=on,
                            expected=show(expected), got=show(got), hint=tuples_reason)
        if bad is None:
            return [tuple(operator.index(x) for x in cell) for cell in got]
        what = f"a {type(got).__name__} holding {shorten(repr(bad), 60)}"
    elif isinstance(got, torch.Tensor):
        what = f"a tensor of shape {tuple(got.shape)}"
    else:
        what = f"a {type(got).__name__}"
    raise Diagnosis(f"returned {what}, expected a list of (row, col) pairs of integers", on=on,
                    expected=show(expected), got=show(got), hint=reason)


def training_mazes(count, seed, width):
    """Seeded training mazes, each with a share of its items already harvested, like the pool's."""
    mazes = reference.make_training_mazes(count, seed, width)
    return reference.harvest_some_items(mazes, torch.Generator().manual_seed(seed))


def random_net(seed, width=5):
    """A seeded QNetwork of the real design, small enough for a check to run in milliseconds."""
    torch.manual_seed(seed)
    return reference.QNetwork(width, channels=4, context_units=4, hidden_units=8)


ITEMS_MAZE = reference.maze_from_text("""
    .C#H.
    .#...
    ...#C
    H#.#.
    ..C.E
""")


# ---------------------------------------------------------------------------------------------
# 2. Dead ends


# Dead ends of every kind: empty ones on the border, a crop, the exit; (2, 4), whose two open
# neighbours are items; a wall, (1, 2), with exactly one open neighbour; and (0, 3), open but walled in
# on the border, with no open neighbour at all (one, if the outside counted as open). Each usual
# mistake gives a different answer here.
DEAD_ENDS_MAZE = reference.maze_from_text("""
    ..#.#
    .###C
    ...H.
    ##.##
    ....E
""")

PAST_THE_BORDER = ("beyond the border there are only walls, but index -1 is the last row (or column), and an index "
                   "taken % n wraps round to the far side: test 0 <= row < n and 0 <= col < n before looking, or use "
                   "neighbours()")

# (problem, hint, the arguments of dead_ends_by_rule that make this mistake)
DEAD_END_MISTAKES = (
    ("listed walls too", "walls are never dead ends: only open cells (anything but WALL) count",
     dict(skip_walls=False)),
    ("treats items and the exit as walls", "items and the exit are open cells too: only WALL blocks",
     dict(open_codes=(EMPTY,))),
    ("treats the outside of the maze as open", "beyond the border there are only walls: count only the "
                                               "neighbours inside the maze, which neighbours() gives",
     dict(outside_open=True)),
    ("skips the border rows and columns", "cells on the border can be dead ends too: loop over every row and "
                                          "column, 0 to n - 1 (neighbours() leaves out what lies beyond)",
     dict(skip_border=True)),
    ("counts diagonal neighbours", "only the 4 neighbours up, down, left and right count", dict(diagonals=True)),
    ("(column, row) pairs instead of (row, column)", "grid[row][col]: the row comes first", dict(transposed=True)),
    ("looks past the border into the far side of the maze", PAST_THE_BORDER, dict(wrap_below_zero=True)),
    ("left out the dead ends that hold an item or the exit", "a dead end is any open cell with exactly one open "
                                                             "neighbour: a crop, a human or the exit is one too (only "
                                                             "WALL is closed)", dict(candidates=(EMPTY,))))


@exercise("dead_ends")
def check_dead_ends(dead_ends):
    """A hand-made maze with dead ends of every kind, then random training mazes."""
    cases = [("the hand-made maze" + maze_text(DEAD_ENDS_MAZE), DEAD_ENDS_MAZE.tolist())]
    for seed in (3, 11):
        maze = reference.make_training_maze(seed, width=7)
        cases.append((f"training maze {seed}" + maze_text(maze), maze.tolist()))
    try:
        answers = [as_cells(call(dead_ends, {"grid": grid}, on,
                                 error_hints={"list index out of range": PAST_THE_BORDER}),
                            on, reference.dead_ends(grid),
                            "place_items walks the list as `for r, c in dead_ends(grid)` and looks each cell up as "
                            "grid[r][c]: return a list of (row, col) pairs")
                   for on, grid in cases]
    except Diagnosis:
        raise
    except Exception:  # an index out of range on a grid of another width than the one it was written for
        raise_if_a_fixed_width(dead_ends, ATTEMPT.get("on"))
        raise
    for (on, grid), got in zip(cases, answers):
        expected = reference.dead_ends(grid)
        if got == expected:
            continue
        raise_if_a_fixed_width(dead_ends, on)
        twice = next((cell for index, cell in enumerate(got) if cell in got[:index]), None)
        if twice is not None:
            raise Diagnosis(f"listed {twice} twice", on=on, expected=expected, got=got,
                            hint="list each dead end once: one pass over the cells, and at most one append per cell "
                                 "(place_items would draw an item for it twice)")
        if sorted(got) == sorted(expected):
            raise Diagnosis("the right cells in the wrong order", on=on, expected=expected, got=got,
                            hint="row-major order: loop over rows, and within a row over columns (place_items "
                                 "draws crop or human for each dead end in this order)")
        # A mistake is named only if it gives exactly the learner's answer on every case, and no other does.
        mistake = the_mistake(DEAD_END_MISTAKES, lambda rule: all(
            sorted(answer) == sorted(dead_ends_by_rule(case_grid, **rule))
            for answer, (_, case_grid) in zip(answers, cases)))
        if mistake:
            raise Diagnosis(mistake[0], on=on, expected=expected, got=got, hint=mistake[1])
        extra = [cell for cell in got if cell not in expected]
        missed = [cell for cell in expected if cell not in got]
        width = len(grid)
        if missed and not extra and set(missed) <= {(0, 0), (width - 1, width - 1)}:
            raise Diagnosis(f"left out {missed}, the start or the exit corner", on=on, expected=expected, got=got,
                            hint="every open cell counts, the start and the exit included: which dead ends get an "
                                 "item is place_items' business, not dead_ends'")
        if missed and not extra and all(min(cell) == 0 or max(cell) == width - 1 for cell in missed):
            raise Diagnosis(f"missed the dead ends on the border: {missed}", on=on, expected=expected, got=got,
                            hint="cells on the border can be dead ends too: loop over every row and column, 0 to "
                                 "n - 1; beyond the border there are only walls")
        raise Diagnosis(f"listed {extra[0]}, which is not a dead end" if extra else f"missed the dead end {missed[0]}"
                        if missed else "wrong cells", on=on, expected=expected, got=got,
                        hint="a dead end is an open cell (not WALL) with exactly one open neighbour among the 4 "
                             "up, down, left and right")


def raise_if_a_fixed_width(dead_ends, on):
    """A Diagnosis if `dead_ends` behaves as if every maze had one width W of 5, 7 and 9 (MAZE_WIDTH, say, written
    into the code instead of read from the grid): on training mazes of widths 5 to 11, right on the one of width W,
    an IndexError on the narrower ones, and nothing beyond row and column W - 1 listed on the wider ones."""
    widths, outcomes = (5, 7, 9, 11), {}
    for width in widths:
        grid = reference.make_training_maze(width, width=width).tolist()
        try:
            outcomes[width] = [tuple(cell) for cell in dead_ends([row[:] for row in grid])]
        except IndexError:
            outcomes[width] = None
        except Exception:
            return
        right = outcomes[width] == reference.dead_ends(grid)
        outcomes[width] = "right" if right else outcomes[width]
    right = [width for width in widths if outcomes[width] == "right"]
    if len(right) == 1 and right[0] != widths[-1] and all(
            outcomes[width] is None if width < right[0] else all(max(cell) < right[0] for cell in outcomes[width])
            for width in widths if width != right[0]):
        raise Diagnosis(f"right only for mazes of width {right[0]}: the width is fixed, not read from the grid",
                        on=on, hint=f"the walk-through calls dead_ends on mazes of other widths too: take the width "
                                    f"from the grid, width = len(grid) (MAZE_WIDTH is only the usual width, "
                                    f"{reference.MAZE_WIDTH})")


def dead_ends_by_rule(grid, skip_walls=True, open_codes=(EMPTY, CROP, HUMAN, EXIT), outside_open=False,
                      skip_border=False, diagonals=False, transposed=False, wrap_below_zero=False, candidates=None):
    """The dead ends under a (possibly mistaken) rule, to recognise the usual mistakes by their output."""
    width = len(grid)
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)] + ([(-1, -1), (-1, 1), (1, -1), (1, 1)] if diagonals else [])
    inner = range(1, width - 1) if skip_border else range(width)

    def is_open(row, col):
        inside = 0 <= row < width and 0 <= col < width
        if wrap_below_zero and -1 <= row < width and -1 <= col < width:  # Python's grid[-1]: the last row
            inside = True
        return grid[row][col] in open_codes if inside else outside_open

    cells = [(row, col) for row in inner for col in inner
             if (grid[row][col] != WALL or not skip_walls) and (candidates is None or grid[row][col] in candidates)
             and sum(is_open(row + d_row, col + d_col) for d_row, d_col in steps) == 1]
    return [(col, row) for row, col in cells] if transposed else cells


# ---------------------------------------------------------------------------------------------
# 4. The reward table and one step


CUSTOM_REWARDS = Rewards(move=-0.5, bump=-3.0, crop=7.0, exit=11.0, human=-13.0)
FRACTIONAL_REWARDS = Rewards(move=-0.25, bump=-1.5, crop=2.5, exit=7.5, human=-4.5)  # an integer tensor drops the .5


@exercise("reward_of_stepping_into")
def check_reward_of_stepping_into(reward_of_stepping_into):
    """Every cell code under the normal and under made-up rewards, then a random (2, 5, 5) batch of codes, on
    DEVICE as in training."""
    every_code = torch.tensor([WALL, EMPTY, CROP, HUMAN, EXIT], dtype=torch.int8)
    random_codes = every_code[torch.randint(5, (2, 5, 5), generator=torch.Generator().manual_seed(5))]
    for on, cells, rewards in (("every cell code, the normal rewards", every_code, REWARDS),
                               (f"every cell code, made-up rewards {CUSTOM_REWARDS}", every_code, CUSTOM_REWARDS),
                               ("a (2, 5, 5) batch of random cell codes, the normal rewards", random_codes, REWARDS),
                               (f"every cell code, made-up rewards that are not whole numbers {FRACTIONAL_REWARDS}",
                                every_code, FRACTIONAL_REWARDS)):
        on = f"{on}; cells = {cells.tolist()}"
        expected = reference.reward_of_stepping_into(cells, rewards)
        got = call(reward_of_stepping_into, {"cells": on_device(cells), "rewards": rewards}, on, probe=("cells",))
        expect_tensor(got, expected, on, kind_hint="rewards are floats: start from torch.full(..., rewards.move)",
                      dtype_reason=float32_reason("the Bellman targets add these rewards to the network's Q-values"))
        if close(got, expected):
            continue
        if rewards != REWARDS and close(got, reference.reward_of_stepping_into(cells, REWARDS)):
            raise Diagnosis("ignores the `rewards` argument", on=on, expected=show(expected), got=show(got),
                            hint="use rewards.move, rewards.crop... of the argument, not the global REWARDS "
                                 "(spoilers.py trains an agent on other rewards)")
        whole = replace(rewards, **{name: float(math.trunc(getattr(rewards, name)))
                                    for name in ("bump", "crop", "exit", "human")})
        if any(close(got, rounded) for rounded in (reference.reward_of_stepping_into(cells, whole), expected.trunc())):
            raise Diagnosis("the rewards lost their fractions: they were rounded to whole numbers", on=on,
                            expected=show(expected), got=show(got),
                            hint="a tensor made from the cell codes, such as torch.zeros_like(cells) or "
                                 "torch.full_like(cells, ...), has their integer dtype (int8), and writing 2.5 into "
                                 "it stores 2: make the rewards a float tensor (torch.zeros(cells.shape, "
                                 "device=cells.device), or zeros_like(cells, dtype=torch.float32))")
        for code in (WALL, EMPTY, CROP, HUMAN, EXIT):
            where = cells == code
            if not where.any() or close(got[where], expected[where]):
                continue
            wrong = got[where][differs(got[where], expected[where])][0].item()
            right = expected[where][0].item()
            raise Diagnosis(f"stepping into {CODE_NAMES[code]} gives {wrong:.4g}, expected {right:.4g}", on=on,
                            expected=show(expected), got=show(got), hint=reward_hint(code, wrong, rewards))
        raise Diagnosis("wrong values", on=on, expected=show(expected), got=show(got))


def reward_hint(code, wrong, rewards):
    item_reward = {CROP: rewards.crop, HUMAN: rewards.human, EXIT: rewards.exit}.get(code, 0.0)
    if code == WALL and math.isclose(wrong, rewards.bump + rewards.move, abs_tol=TOLERANCE):
        return "a bump costs rewards.bump alone: the agent does not move, so no move cost on top"
    if code == WALL:
        return "stepping into a wall (or off the board) gives rewards.bump"
    if math.isclose(wrong, item_reward, abs_tol=TOLERANCE):
        return ("this step moves the agent, so it also costs rewards.move, like every move (if you did add it: a "
                "tensor made from the integer cell codes, such as torch.full_like(cells, ...), holds integers and "
                "rounds -0.1 to 0; pass dtype=torch.float32)")
    if math.isclose(wrong, rewards.move - item_reward, abs_tol=TOLERANCE):
        return "sign flipped: add the item's reward (rewards.human is already negative), do not subtract it"
    if math.isclose(wrong, rewards.move, abs_tol=TOLERANCE):
        return f"stepping into {CODE_NAMES[code]} adds its own reward to rewards.move"
    return "rewards.move for every move, plus the reward of what is in the cell; rewards.bump alone for a wall"


def step_cases():
    """(description, mazes, maze_index, positions, actions): chosen steps, then random ones."""
    mazes = torch.stack([ITEMS_MAZE, reference.make_training_maze(4, width=5), ITEMS_MAZE])
    # (maze, row, col, action): a crop, a human, a wall, the border, the exit, plain moves, and more
    # harvests, in maze 0 and in its copy, maze 2
    chosen = [(0, 0, 0, RIGHT), (2, 2, 0, DOWN), (0, 1, 0, RIGHT), (0, 0, 0, UP), (0, 4, 3, RIGHT), (1, 0, 0, DOWN),
              (0, 1, 3, UP), (2, 2, 1, LEFT), (2, 3, 2, DOWN)]
    index, rows, cols, actions = (torch.tensor(column) for column in zip(*chosen))
    yield ("chosen steps in the hand-made maze (twice) and a training maze", mazes, index, torch.stack([rows, cols], 1),
           actions)
    generator = torch.Generator().manual_seed(6)
    mazes = training_mazes(4, seed=21, width=7)
    maze_index, row, col = (mazes == EMPTY).nonzero(as_tuple=True)
    pick = torch.randint(len(maze_index), (30,), generator=generator)
    yield ("30 random steps in 4 random training mazes (7x7)", mazes, maze_index[pick],
           torch.stack([row[pick], col[pick]], 1), torch.randint(4, (30,), generator=generator))


def describe_step(mazes, maze_index, positions, actions, i):
    row, col = positions[i].tolist()
    return f"step {i}: maze {maze_index[i].item()}, agent at {(row, col)}, action {ACTION_NAMES[actions[i].item()]}"


def with_maze(on, mazes, maze_index, i):
    """The case's description, and the maze that step i takes place in."""
    return f"{on}; maze {maze_index[i].item()} of them is" + maze_text(mazes[maze_index[i]])


@exercise("look_up_steps")
def check_look_up_steps(look_up_steps):
    """Chosen steps (harvesting a crop and a human, bumping a wall and the border, reaching the exit,
    two steps in one maze) and random steps in random training mazes, on DEVICE as in the rollouts."""
    for on, mazes, maze_index, positions, actions in step_cases():
        outcome = reference.transitions(mazes)
        expected = reference.look_up_steps(mazes, maze_index, positions, actions, outcome)
        inputs = {"mazes": mazes, "maze_index": maze_index, "positions": positions, "actions": actions,
                  "outcome": outcome}
        got = call(look_up_steps, {name: on_device(value) for name, value in inputs.items()}, on, change_hints={
            "mazes": "mazes[maze_index] is already a copy: empty the harvested cells in it, not in `mazes`"},
                   probe=tuple(inputs))
        missing = [name for name in ("mazes", "positions", "rewards", "terminals") if not hasattr(got, name)]
        if missing:
            raise Diagnosis(f"returned a {type(got).__name__} without {', '.join(missing)}", on=on,
                            hint="return Step(next_mazes, next_positions, rewards, terminals)")
        index_hint = "read each table of outcome at [maze_index, row, col, actions]"
        kind_hints = {"positions": "cells are integer (row, col) pairs, as in outcome.next_positions",
                      "rewards": "rewards are floats, as in outcome.rewards",
                      "terminals": "terminals must be bool, as in outcome.terminals: the Bellman target's "
                                   "~terminals is bitwise not on integers (-1 and -2, not False and True)"}
        # greedy_rollouts writes a step's positions and mazes back into its own tensors (positions[active] =
        # after.positions), which only works with their dtypes; a reward of another float dtype does no harm.
        written_back = ("greedy_rollouts writes the step back into its own tensors (mazes[active], positions[active] "
                        "= after.mazes, after.positions), which raises unless the dtypes match: positions are long "
                        "like outcome.next_positions, and mazes keep the dtype of `mazes` (no .long() or .int())")
        for name in ("positions", "rewards", "terminals"):
            got_value, expected_value = getattr(got, name), getattr(expected, name)
            expect_tensor(got_value, expected_value, on, f"Step.{name}", kind_hint=kind_hints[name], shape_hints={
                (len(mazes),) + tuple(expected_value.shape[1:]): "one entry per step: index with maze_index"},
                          dtype_reason=written_back if name == "positions" else None)
            wrong = wrong_rows(got_value, expected_value)
            if wrong:
                i = wrong[0]
                raise Diagnosis(f"Step.{name} is wrong at {describe_step(mazes, maze_index, positions, actions, i)}",
                                on=with_maze(on, mazes, maze_index, i), expected=show(expected_value[i]),
                                got=show(got_value[i]), hint=index_hint)
        expect_tensor(got.mazes, expected.mazes, on, "Step.mazes", shape_hints={
            tuple(mazes.shape): "one maze per step: start from mazes[maze_index]"},
                      kind_hint="mazes hold integer cell codes, like the input mazes", dtype_reason=written_back)
        wrong = wrong_rows(got.mazes, expected.mazes)
        if not wrong:
            continue
        i = wrong[0]
        step = describe_step(mazes, maze_index, positions, actions, i)
        destination = tuple(expected.positions[i].tolist())
        if close(got.mazes, harvested_by_maze_index(mazes, maze_index, expected)):
            problem, hint = ("emptied the harvested cells in the wrong rows", "row i of mazes[maze_index] is the "
                             "maze of step i: index it with torch.arange(S), not with maze_index again")
        elif torch.equal(got.mazes[i].long(), mazes[maze_index[i]].long()):
            problem, hint = (f"the item at {destination} was not harvested at {step}",
                             "where outcome.harvests is True, the cell the agent moves onto becomes EMPTY")
        else:
            row, col = differs(got.mazes[i], expected.mazes[i]).nonzero()[0].tolist()
            got_code, expected_code = got.mazes[i, row, col].item(), expected.mazes[i, row, col].item()
            problem = (f"after {step}, cell {(row, col)} is {CODE_NAMES.get(got_code, f'code {got_code}')}, "
                       f"expected {CODE_NAMES.get(expected_code, f'code {expected_code}')}")
            if (row, col) != destination:
                hint = "only the cell the agent moves onto can change"
            elif mazes[maze_index[i], row, col].item() in (CROP, HUMAN):  # harvested, and written with the wrong code
                hint = (f"a harvested cell becomes EMPTY, whose code is {EMPTY}; {got_code} is "
                        f"{CODE_NAMES.get(got_code, 'no cell code')}"
                        + (" (multiplying the maze by ~harvests, or writing 0, makes a wall)" if got_code == WALL
                           else "") + ": torch.where(harvests, EMPTY, ...) writes the constant itself")
            else:
                hint = ("only a harvested item (a crop or a human, where outcome.harvests is True) becomes EMPTY: the "
                        "exit, and the cell of a plain move, stay as they were")
        raise Diagnosis(problem, on=with_maze(on, mazes, maze_index, i), expected=maze_text(expected.mazes[i]),
                        got=maze_text(got.mazes[i]), hint=hint)


def harvested_by_maze_index(mazes, maze_index, expected):
    """What indexing the copied mazes with maze_index, instead of the step number, would give."""
    next_mazes = mazes[maze_index]
    harvest = (expected.mazes != next_mazes).flatten(1).any(1)
    row, col = expected.positions[:, 0], expected.positions[:, 1]
    next_mazes[maze_index[harvest], row[harvest], col[harvest]] = EMPTY
    return next_mazes


def wrong_rows(got, expected):
    """Indices along the first axis where got and expected differ."""
    return differs(got, expected).reshape(len(got), -1).any(1).nonzero().squeeze(1).tolist()


# ---------------------------------------------------------------------------------------------
# 5. What the agent sees


def ones(plane):
    """The (row, col) cells where a plane (n, n) is not 0."""
    return [tuple(cell) for cell in plane.nonzero().tolist()]


def plane_cells(planes):
    """Where each of one maze's planes (4, n, n) is not 0, by name: what a learner can compare with the maze."""
    return "; ".join(f"{name} at {ones(plane)}" for name, plane in zip(reference.PLANES, planes))


def describe_planes(planes):
    """An encoding's shape and, if it has the planes' layout (B, 4, n, n), where maze 0's planes are not 0."""
    if not isinstance(planes, torch.Tensor):
        return show(planes)
    if planes.dim() == 4 and planes.shape[1] == 4:
        return f"shape {tuple(planes.shape)}, maze 0: {plane_cells(planes[0].detach())}"
    return f"shape {tuple(planes.shape)}"


def encoding_mistakes(mazes, expected):
    """(problem, hint, what that mistake gives) for the usual mistakes of encode_mazes on `mazes`."""
    batch, width = len(mazes), mazes.shape[-1]
    own_axis = "torch.stack([...], dim=1): the planes get an axis of their own, right after the batch"
    exit_as_wall, open_as_wall = expected.clone(), expected.clone()
    exit_as_wall[:, 0] = (mazes <= WALL).float()
    open_as_wall[:, 0] = (mazes != WALL).float()
    # On a batch of one, joining along the batch axis gives the right answer, or the answer of a squeeze.
    along_the_batch = [] if batch == 1 else [
        ("joined the planes along the batch axis, then reshaped them",
         f"a reshape cannot undo that: it mixes the planes of different mazes. {own_axis}",
         expected.transpose(0, 1).reshape(expected.shape)),
        ("concatenated the planes along the batch axis instead of stacking them",
         f"torch.cat joins the (B, n, n) planes end to end. {own_axis}",
         expected.transpose(0, 1).reshape(4 * batch, width, width))]
    return [("stacked the planes on the batch axis (dim=0)", own_axis, expected.transpose(0, 1))] + along_the_batch + [
            ("concatenated the planes along the rows instead of stacking them",
             f"torch.cat joins the (B, n, n) planes end to end. {own_axis}",
             expected.reshape(batch, 4 * width, width)),
            ("the planes are the last axis", f"the convolutions read (B, channels, n, n). {own_axis}",
             expected.permute(0, 2, 3, 1)),
            ("the exit plane is missing",
             "four planes, in the order of PLANES: wall, crop, human, exit (mazes == EXIT)", expected[:, :3]),
            ("the planes are transposed: rows and columns swapped",
             "planes[b, k, row, col] is about mazes[b, row, col]: no transpose of the rows and columns",
             expected.transpose(2, 3)),
            ("counts the exit as a wall", "the exit's code is -1, below WALL (0): compare with == WALL, not <= WALL",
             exit_as_wall),
            ("the wall plane marks the open cells", "plane 0 is 1.0 where there is a wall: mazes == WALL",
             open_as_wall)]


@exercise("encode_mazes")
def check_encode_mazes(encode_mazes):
    """Two hand-made 5x5 mazes, then 4 training mazes (7x7) with some of their items harvested, on DEVICE as the
    network reads them."""
    hand = torch.stack([ITEMS_MAZE, DEAD_ENDS_MAZE])
    earlier = []
    for on, mazes in (("the hand-made mazes" + maze_text(ITEMS_MAZE) + "\nand" + maze_text(DEAD_ENDS_MAZE), hand),
                      ("4 training mazes (7x7), some items harvested", training_mazes(4, seed=31, width=7)),
                      ("4 other training mazes (7x7), of the same shape", training_mazes(4, seed=32, width=7)),
                      ("a batch of one maze, (1, 5, 5)" + maze_text(ITEMS_MAZE), ITEMS_MAZE[None])):
        expected = reference.encode_mazes(mazes)
        got = call(encode_mazes, {"mazes": on_device(mazes)}, on, probe=("mazes",))
        raise_if_an_earlier_answer(got, expected, earlier, on)
        # On a batch of one, some mistakes give the right answer: a mistake is named only where it is one.
        mistake = None if close(got, expected) else known_mistake(got, encoding_mistakes(mazes, expected))
        if mistake:
            raise Diagnosis(mistake[0], on=on, expected=describe_planes(expected), got=describe_planes(got),
                            hint=mistake[1])
        expect_tensor(got, expected, on, shape_hints={
            (len(mazes), 4, mazes.shape[-1] ** 2): "keep each plane (n, n): the convolutions read them as images",
            (4, mazes.shape[-1], mazes.shape[-1]): "a batch of one is still a batch: keep its axis (no .squeeze(), "
                                                   "and torch.stack(..., dim=1) rather than torch.cat); "
                                                   "greedy_rollout runs the network on one maze at a time"},
                      kind_hint="the network reads numbers: .float() turns the bool planes into 0.0 and 1.0",
                      dtype_reason="the network's convolutions have float32 weights and raise on planes of any "
                                   "other dtype (float64, float16, bfloat16): .float() gives float32")
        if not close(got, expected):
            raise planes_diagnosis(got, expected, mazes, on)


def planes_diagnosis(got, expected, mazes, on):
    """Name the planes in the wrong order, or else the first wrong plane and where it is wrong."""
    order = [next((k for k in range(4) if close(got[:, j], expected[:, k])), None) for j in range(4)]
    if set(order) == {0, 1, 2, 3} and order != [0, 1, 2, 3]:  # every plane is there, in another order
        return Diagnosis("the planes are in the wrong order", on=on, expected=", ".join(reference.PLANES),
                         got=", ".join(reference.PLANES[k] for k in order),
                         hint="plane 0 is the walls, 1 the crops, 2 the humans, 3 the exit: the order of PLANES")
    b, k = differs(got, expected).flatten(2).any(2).nonzero()[0].tolist()
    code = (WALL, CROP, HUMAN, EXIT)[k]
    got_plane = got[b, k].detach()
    binary = bool(((got_plane == 0) | (got_plane == 1)).all())
    return Diagnosis(f"plane {k} ({reference.PLANES[k]}) is wrong in maze {b}", on=f"{on}; maze {b} is" +
                     maze_text(mazes[b]), expected=f"1.0 at {ones(expected[b, k])}",
                     got=f"1.0 at {ones(got_plane)}" if binary else show(got_plane),
                     hint=f"plane {k} is 1.0 exactly where the maze holds {CODE_NAMES[code]} (mazes == "
                          f"{('WALL', 'CROP', 'HUMAN', 'EXIT')[k]}), 0.0 elsewhere")


# ---------------------------------------------------------------------------------------------
# 7. The Q-network: signals along corridors, Q-maps, the greedy policy


# One corridor from the start down and along to the exit: 8 steps, and a turn that a diagonal would cut.
PROPAGATION_CORRIDOR = reference.maze_from_text("""
    .####
    .####
    .####
    .####
    ....E
""")
BLOCKED_CELL = (2, 0)  # relay 0 in channel 1: an open cell that keeps only its own source


def propagation_cases():
    """(description, sources, relay, rounds): a hand-made corridor whose answer can be read off, with enough
    rounds, too few and none; then training mazes with random sources, and random relays."""
    maze = PROPAGATION_CORRIDOR
    passes_on = ((maze != WALL) & (maze != EXIT)).float()
    sources = torch.zeros(1, 2, 5, 5)
    sources[0, 0, 0, 0] = 1.0  # channel 0: the start
    sources[0, 1, 4, 4] = 1.0  # channel 1: the exit
    relay = torch.stack([0.5 * passes_on, 0.9 * passes_on])[None]
    relay[0, 1, BLOCKED_CELL[0], BLOCKED_CELL[1]] = 0.0
    corridor = ("a 5x5 corridor" + maze_text(maze) + "\nin 2 channels: channel 0 has source 1.0 at (0, 0) and relay "
                "0.5 along the corridor; channel 1 has source 1.0 at the exit and relay 0.9 along the corridor, but 0 "
                f"at {BLOCKED_CELL}; relay 0 at walls and at the exit")
    for rounds in (10, 5, 0):  # enough to walk the 8 steps of the corridor, too few, none
        yield f"{corridor}; rounds {rounds}", sources, relay, rounds
    generator = torch.Generator().manual_seed(32)
    mazes = training_mazes(3, seed=32, width=7)
    open_cells = (mazes != WALL)[:, None].float()
    passes_on = open_cells * (mazes != EXIT)[:, None]
    sources = torch.rand(3, 3, 7, 7, generator=generator) * (torch.rand(3, 3, 7, 7, generator=generator) < 0.15)
    sources = (sources * open_cells).requires_grad_(True)  # the network learns its sources through propagate
    mazes_on = "3 training mazes (7x7) in 3 channels, sources (requiring grad) at random at 15% of the open cells"
    yield (f"{mazes_on}; relay 0.6, 0.8 and 0.95 by channel at open cells, 0 at walls and the exit; rounds 30",
           sources, torch.tensor([0.6, 0.8, 0.95])[None, :, None, None] * passes_on, 30)
    random_relay = (0.3 + 0.7 * torch.rand(3, 3, 7, 7, generator=generator)) * passes_on
    yield (f"{mazes_on}; relay random in [0.3, 1] at open cells, 0 at walls and the exit; rounds 3", sources,
           random_relay, 3)


def propagate_by_rule(sources, relay, rounds, diagonals=False, wrap=False, outside=0.0, sum_neighbours=False,
                      own="max", sender_relay=False, extra_rounds=0, from_zero=False, read_sources=False,
                      in_place=False, until_still=False):
    """Propagation under a (possibly mistaken) rule, to recognise the usual mistakes by their output."""
    sources, width = sources.detach(), sources.shape[-1]
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)] + ([(-1, -1), (-1, 1), (1, -1), (1, 1)] if diagonals else [])

    def away(grid, d_row, d_col):  # each cell's neighbour (d_row, d_col) away: `outside` beyond the border, or wrap
        if wrap:
            return torch.roll(grid, (-d_row, -d_col), dims=(-2, -1))
        return F.pad(grid, (1, 1, 1, 1), value=outside)[..., 1 + d_row:1 + d_row + width, 1 + d_col:1 + d_col + width]

    signal = torch.zeros_like(sources) if from_zero else sources
    rounds = width * width if until_still else rounds  # enough for every signal to go as far as it can
    for _ in range(max(rounds + extra_rounds, 0)):
        if in_place:  # one direction at a time, each reading what the one before wrote
            for d_row, d_col in steps:
                signal = torch.maximum(signal, relay * away(signal, d_row, d_col))
            continue
        read = sources if read_sources else signal
        around = torch.stack([away(relay * read if sender_relay else read, d_row, d_col) for d_row, d_col in steps])
        around = around.sum(0) if sum_neighbours else around.amax(0)
        passed = around if sender_relay else relay * around
        signal = {"max": torch.maximum(sources, passed), "add": sources + passed, "none": passed}[own]
    return signal


# (problem, hint, the arguments of propagate_by_rule that make this mistake)
PROPAGATION_MISTAKES = (
    ("diagonal neighbours pass signals on too", "only the four neighbours up, down, left and right: a 3x3 max-pool "
                                                "reaches the diagonals as well", dict(diagonals=True)),
    ("signals wrap around the border", "beyond the border there is nothing: torch.roll brings in the far side, where "
                                       "one_step_away(signal, action, 0.0) pads with 0", dict(wrap=True)),
    ("a signal of 1 comes in from beyond the border", "beyond the border there is nothing to pass on: "
                                                      "one_step_away(signal, action, 0.0), with 0.0, not 1.0",
     dict(outside=1.0)),
    ("adds up the neighbours' signals instead of taking the largest",
     "the best neighbour: torch.stack([...]).amax(0), not .sum(0)", dict(sum_neighbours=True)),
    ("adds a cell's own source to what its neighbours pass on",
     "keep the larger of the two: torch.maximum(sources, relay * best)", dict(own="add")),
    ("forgets the sources: a cell keeps only what its neighbours pass on",
     "signal = torch.maximum(sources, relay * best): each round, a cell keeps its own source if that is larger",
     dict(own="none")),
    ("multiplies by the relay of the neighbour that sends, not of the cell that receives",
     "relay * best, with the relay of the receiving cell: then a wall or the exit (relay 0) receives nothing, "
     "and its own source still spreads to its neighbours", dict(sender_relay=True)),
    ("one round too many", "exactly `rounds` rounds (range(rounds)), starting from signal = sources",
     dict(extra_rounds=1)),
    ("one round too few", "start from signal = sources, then run all `rounds` rounds", dict(extra_rounds=-1)),
    ("ignores the `rounds` argument: every signal travels as far as it can",
     "run exactly `rounds` rounds, for _ in range(rounds): the caller decides how far a signal travels "
     "(propagation_rounds(width) is the network's choice, not propagate's, and a loop until nothing changes goes "
     "as far as it can)", dict(until_still=True)),
    ("one round too few", "start from signal = sources, not zeros: the sources are where every signal starts",
     dict(from_zero=True)),
    ("each round reads the sources, not the signal of the round before",
     "take the best neighbour of `signal` and update it every round: read from `sources`, a signal never gets "
     "further than one cell", dict(read_sources=True)),
    ("updates the signal while reading it, within a round",
     "compute the best of the four neighbours from the signal of the round before, then replace the signal at "
     "once: updated direction by direction, a signal travels several cells in one round", dict(in_place=True)),
)


def reachable(sources, relay, rounds):
    """(B, C, n, n) bool: where a signal can be after `rounds` rounds, one cell a round from a source, into
    cells whose relay is above 0."""
    reach = sources.detach() > 0
    for _ in range(rounds):
        around = torch.stack([reference.one_step_away(reach.float(), action, 0.0) for action in range(4)]).amax(0)
        reach = reach | ((around > 0) & (relay > 0))
    return reach


def grid_text(plane):
    """A plane of numbers (n, n), one row a line, on a new line."""
    return "\n" + "\n".join(" ".join(f"{value:7.4g}" for value in row) for row in plane.detach().tolist())


@exercise("propagate")
def check_propagate(propagate):
    """A hand-made corridor in two channels (10 rounds, 5 and none), then 3 training mazes (7x7) in 3
    channels with random sources, by-channel relays and random relays."""
    cases = list(propagation_cases())
    answers = []
    for on, sources, relay, rounds in cases:
        got = call(propagate, {"sources": sources, "relay": relay, "rounds": rounds}, on, change_hints={
            name: f"signal = sources names the same tensor: writing into it in place (signal[...] = ..., out=signal, "
                  f"a method ending in _) changes the caller's {name}; build a new signal every round"
            for name in ("sources", "relay")}, probe=("sources", "relay"))
        expect_tensor(got, reference.propagate(sources, relay, rounds), on,
                      kind_hint="signals are floats, like the sources",
                      dtype_reason=float32_reason("the network's signals are float32, like its weights and sources"))
        answers.append(got)
    for (on, sources, relay, rounds), got in zip(cases, answers):
        expected = reference.propagate(sources, relay, rounds)
        if not close(got, expected):
            raise propagation_diagnosis(propagate, got, expected, cases, answers, on, sources, relay, rounds)
        if sources.requires_grad:
            if not got.requires_grad:
                raise Diagnosis("no gradient flows back to the sources", on=on,
                                hint="the network learns its sources through propagate: no .detach(), .item() or "
                                     "torch.no_grad() here")
            raise_on_wrong_source_gradient(got, sources, relay, rounds, on)


def raise_on_wrong_source_gradient(got, sources, relay, rounds, on):
    """Compare d(sum of the signal)/d(sources) with the reference's at the cells with a source (elsewhere a
    max between two zeros may send its gradient either way): a source's gradient counts every cell its signal
    reaches, so a signal cut off from the graph on the way (a .detach() in the loop) shows there."""
    (gradient,) = torch.autograd.grad(got.sum(), sources, allow_unused=True)
    gradient = torch.zeros_like(sources) if gradient is None else gradient
    (expected,) = torch.autograd.grad(reference.propagate(sources, relay, rounds).sum(), sources)
    source_cells = sources.detach() > 0
    if not close(gradient[source_cells], expected[source_cells]):
        b, channel, row, col = (differs(gradient, expected) & source_cells).nonzero()[0].tolist()
        raise Diagnosis(f"the gradient of the signal's sum with respect to the source at {(row, col)} is wrong (maze "
                        f"{b}, channel {channel})", on=on, expected=grid_text(expected[b, channel]),
                        got=grid_text(gradient[b, channel]),
                        hint="the signals are right but the gradient is not: a source's gradient must come back "
                             "through every round it travelled, so no .detach(), torch.no_grad() or .data inside the "
                             "loop")


def mazes_mixed(propagate, got, expected, on, sources, relay, rounds):
    """The first maze of a batch of several whose signal is wrong in the batch, where the learner's `propagate` gives
    every maze of the batch its right signal when called on it alone; None if there is none, or it raises."""
    if len(sources) < 2:
        return None
    try:
        alone = [call(propagate, {"sources": sources[b:b + 1], "relay": relay[b:b + 1], "rounds": rounds},
                      f"{on}; maze {b} alone") for b in range(len(sources))]
    except Exception:
        return None
    if not all(close(mine, expected[b:b + 1]) for b, mine in enumerate(alone)):
        return None
    return next((b for b in range(len(sources)) if not close(got[b], expected[b])), None)


def propagation_diagnosis(propagate, got, expected, cases, answers, on, sources, relay, rounds):
    """A known mistake if one gives exactly the learner's answers on every case, else where the signal is wrong."""
    mistake = the_mistake(PROPAGATION_MISTAKES, lambda rule: all(
        close(answer, propagate_by_rule(case_sources, case_relay, case_rounds, **rule))
        for answer, (_, case_sources, case_relay, case_rounds) in zip(answers, cases)))
    mixed = None if mistake else mazes_mixed(propagate, got, expected, on, sources, relay, rounds)
    if mixed is not None:
        channel = next(c for c in range(got.shape[1]) if not close(got[mixed, c], expected[mixed, c]))
        return Diagnosis("the mazes of the batch mix: each maze alone gets its right signal, in a batch another one",
                         on=f"{on}; maze {mixed}, channel {channel}", expected=grid_text(expected[mixed, channel]),
                         got=grid_text(got[mixed, channel]),
                         hint="the mazes (axis 0) and channels (axis 1) are separate: take the largest of the four "
                              "neighbours over the axis that torch.stack adds (torch.stack([...]).amax(0)), never over "
                              "the batch axis, and work on every maze of sources and relay, not sources[0]")
    wrong = differs(got, expected)
    too_far = (got.detach().abs() > TOLERANCE) & ~reachable(sources, relay, rounds)
    b, channel, row, col = (too_far if too_far.any() and not mistake else wrong).nonzero()[0].tolist()
    on = f"{on}; maze {b}, channel {channel}"
    shown = {"expected": grid_text(expected[b, channel]), "got": grid_text(got[b, channel])}
    if mistake:
        return Diagnosis(mistake[0], on=on, hint=mistake[1], **shown)
    if too_far.any():
        return Diagnosis(f"a signal reached {(row, col)}, which no signal can reach in {rounds} rounds", on=on,
                         hint="each round, a signal moves one cell, into cells whose relay is above 0: compute the "
                              "best of the four neighbours from the signal of the round before, then replace the "
                              "whole signal at once", **shown)
    return Diagnosis(f"wrong signal at {(row, col)}", on=on, hint="each round: signal = the larger of sources and "
                     "relay * (the largest signal among the four neighbours, 0 beyond the border)", **shown)


@exercise("q_values_at")
def check_q_values_at(q_values_at):
    """Q-maps whose values say where they sit (3 mazes, 5x5), then random Q-maps (6 mazes, 7x7), both requiring
    grad, on DEVICE as the network writes them."""
    b, action, row, col = torch.meshgrid(*(torch.arange(size) for size in (3, 4, 5, 5)), indexing="ij")
    generator = torch.Generator().manual_seed(33)
    cases = [("Q-maps whose value at [b, action, row, col] is 1000 b + 100 action + 10 row + col, 3 mazes of 5x5",
              (1000 * b + 100 * action + 10 * row + col).float(), torch.tensor([[0, 0], [2, 4], [4, 1]])),
             ("random Q-maps, 6 mazes of 7x7", torch.randn(6, 4, 7, 7, generator=generator),
              torch.randint(7, (6, 2), generator=generator)),
             ("a batch of one: the random Q-maps of one maze of 7x7", torch.randn(1, 4, 7, 7, generator=generator),
              torch.tensor([[3, 5]]))]
    for on, q_maps, positions in cases:
        on = f"{on}, positions {positions.tolist()}"
        expected = reference.q_values_at(q_maps, positions)
        got = call(q_values_at, {"q_maps": leaf_on_device(q_maps), "positions": on_device(positions)}, on, error_hints={
            "could not be broadcast": "positions[:, 0] is every agent's row and positions[:, 1] every agent's column; "
                                      "positions[0] is the first agent's (row, col)",
            "for dimension 1 with size 4": "axis 1 of a Q-map (B, 4, n, n) is the actions: the row and the column "
                                           "are axes 2 and 3, q_maps[b, :, row, col]"}, probe=("q_maps", "positions"))
        batch, width = len(q_maps), q_maps.shape[-1]
        expect_tensor(got, expected, on, shape_hints={
            (batch, 4, batch): "q_maps[:, :, rows, cols] pairs every maze with every agent: index the batch too, with "
                               "torch.arange(B), so that maze b meets agent b",
            (4, batch): "one row of four Q-values per maze: (B, 4)",
            (batch, width): "the actions are axis 1 of a Q-map (B, 4, n, n): q_maps[b, :, row, col]",
            (batch,): "all four Q-values of the agent's cell, one per action: (B, 4)",
            **({(4,): BATCH_OF_ONE} if batch == 1 else {})},
                      dtype_reason=float32_reason("the Q-values are the network's"))
        recognise(got, expected, on=on, hint="for each b, q_maps[b, :, row_b, col_b]",
                  mistakes=[("read (column, row) instead of (row, column)", "positions are (row, col): the row "
                             "indexes axis 2 of the Q-map, the column axis 3",
                             reference.q_values_at(q_maps, positions.flip(1)))])
        if not got.requires_grad:
            raise Diagnosis("no gradient flows back to the Q-maps", on=on,
                            hint="no .detach(), .item() or torch.no_grad(): the dreams of section 23 climb the "
                                 "gradient through these values into the maze")


BATCH_OF_ONE = ("a batch of one is still a batch: keep its axis (no .squeeze(), which drops every axis of size 1). "
                "greedy_rollouts asks about one maze whenever a single one is still running, and greedy_rollout "
                "always does")


class StandInQNetwork(nn.Module):
    """A seeded stand-in for a QNetwork: Q-maps from a 3x3 convolution of the planes plus a value per cell and
    action, all within about 0.1 of each other, so that the best action changes from cell to cell and a
    random pick is often another action. It notes whether it, or any copy of it, ever ran with gradients on
    (in the class: the check hands the learner's function copies)."""

    ran_with_gradients = False

    def __init__(self, width, seed):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.width = width
        self.around = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        with torch.no_grad():
            self.around.weight.copy_(0.01 * torch.randn(self.around.weight.shape, generator=generator))
        self.by_cell = nn.Parameter(0.03 * torch.randn(4, width, width, generator=generator))

    def forward(self, planes):
        if planes.dim() != 4 or tuple(planes.shape[1:]) != (4, self.width, self.width):
            raise ValueError(f"expected planes of shape (batch, 4, {self.width}, {self.width}) from encode_mazes, "
                             f"got {tuple(planes.shape)}")
        StandInQNetwork.ran_with_gradients |= torch.is_grad_enabled()
        return self.around(planes) + self.by_cell


def empty_cells(mazes, per_maze, generator):
    """(B * per_maze, 2): `per_maze` random EMPTY cells of each maze, in the order of the mazes."""
    cells = []
    for maze in mazes:
        empty = (maze == EMPTY).nonzero()
        cells.append(empty[torch.randint(len(empty), (per_maze,), generator=generator)])
    return torch.cat(cells)


@exercise("greedy_actions", uses=("encode_mazes", "q_values_at"))
def check_greedy_actions(greedy_actions):
    """A stand-in network with close Q-values at 400 (maze, cell) pairs of 100 training mazes (5x5), then
    at one cell in each of 6 training mazes (7x7): the network, mazes and cells on DEVICE as in the rollouts."""
    generator = torch.Generator().manual_seed(34)
    networks = {}  # one stand-in network per width: the third case asks the first one again, about other mazes
    earlier = []
    for on, mazes, per_maze in (
            ("a stand-in network with Q-values close together, 4 random empty cells in each of 100 training mazes "
             "(5x5): 400 (maze, cell) pairs", training_mazes(100, seed=34, width=5), 4),
            ("a stand-in network with Q-values close together, a random empty cell in each of 6 training mazes (7x7)",
             training_mazes(6, seed=35, width=7), 1),
            ("the first stand-in network again, 4 random empty cells in each of 100 other training mazes (5x5)",
             training_mazes(100, seed=36, width=5), 4),
            ("the second stand-in network again, a batch of one: a random empty cell in one training maze (7x7)",
             training_mazes(1, seed=37, width=7), 1)):
        positions = empty_cells(mazes, per_maze, generator)
        mazes = mazes.repeat_interleave(per_maze, dim=0)
        q_net = networks.setdefault(mazes.shape[-1], StandInQNetwork(mazes.shape[-1], seed=34).to(DEVICE))
        if len(mazes) <= 8:
            on = f"{on}; agents at {positions.tolist()}"
        # The reference runs where the learner's function runs: a GPU may round the Q-values differently.
        mazes_there, positions_there = on_device(mazes), on_device(positions)
        expected = reference.greedy_actions(q_net, mazes_there, positions_there).cpu()
        StandInQNetwork.ran_with_gradients = False
        got = call(greedy_actions, {"q_net": q_net, "mazes": mazes_there, "positions": positions_there}, on,
                   random_hint="the greedy policy is the argmax, every time: no epsilon-greedy exploration or "
                               "sampling here (greedy_rollouts adds random steps itself, when its epsilon asks)",
                   probe=("q_net", "mazes", "positions"))
        raise_if_an_earlier_answer(got, expected, earlier, on)
        with torch.no_grad():  # the check's own use of the network must not count as the learner's
            q_values = reference.q_values_at(q_net(reference.encode_mazes(mazes_there)), positions_there).cpu()
        values_hint = ("the actions are right, but as floats: an action is an index (long), which argmax returns; "
                       "leave out the .float()" if isinstance(got, torch.Tensor) and close(got, expected.float())
                       else "the index of the best action (argmax), not its Q-value (max)")
        width = mazes.shape[-1]
        expect_tensor(got, expected, on, shape_hints={
            (4,): "the argmax over the actions is dim=1; dim=0 is the batch",
            (len(mazes), 1): "argmax(dim=1) without keepdim gives (B,)",
            (len(mazes), width, width): "that is the best action at every cell: read the agents' cells with "
                                        "q_values_at first",
            (): BATCH_OF_ONE},
                      kind_hint=values_hint, dtype_reason="step_batch indexes the transition tables with these "
                                                          "actions, and argmax gives int64 (long) indices")
        wrong = int((got != expected).sum())
        problem, hint = ((f"not the greedy action at {wrong} of {len(mazes)} (maze, cell) pairs",
                          "the argmax at every state: no random action now and then (epsilon-greedy exploration) here")
                         if wrong <= len(mazes) // 10 else
                         ("wrong values", "the argmax over the 4 actions (dim=1) of "
                                          "q_values_at(q_net(encode_mazes(mazes)), positions)"))
        recognise(got, expected, on=on, problem=problem, hint=hint,
                  mistakes=[("picked the worst action", "argmax, not argmin", q_values.argmin(1)),
                            ("looked at (column, row) instead of (row, column)", "positions are (row, col)",
                             reference.greedy_actions(q_net, mazes_there, positions_there.flip(1)).cpu())])
        if StandInQNetwork.ran_with_gradients:
            raise Diagnosis("ran the network with gradients on", on=on,
                            hint="acting needs no gradient: under `with torch.no_grad():` the network builds no "
                                 "autograd graph, which saves its memory and time at every step of every rollout")


# ---------------------------------------------------------------------------------------------
# 8. Learning


def bellman_cases():
    """(description, next_q, rewards, terminals, gamma or None for the default): by hand, then in the shapes
    training uses, with the default gamma and others."""
    generator = torch.Generator().manual_seed(35)

    def random_steps(shape, share_terminal):
        return (3 * torch.randn(shape + (4,), generator=generator), 5 * torch.randn(shape, generator=generator),
                torch.rand(shape, generator=generator) < share_terminal)

    yield ("4 steps whose next Q-values are [1, 2, 0, -1], [0, -1, 3, 0], [0, 0, 0, 5], [-1, -2, 0, 1]; rewards "
           "[0.5, -1, 10, -0.1], terminals [F, F, T, F], gamma 0.9",
           torch.tensor([[1.0, 2.0, 0.0, -1.0], [0.0, -1.0, 3.0, 0.0], [0.0, 0.0, 0.0, 5.0], [-1.0, -2.0, 0.0, 1.0]]),
           torch.tensor([0.5, -1.0, 10.0, -0.1]), torch.tensor([False, False, True, False]), 0.9)
    yield ("the update by hand of section 8: next Q-values [0.5, 0.2, 1, 3] for both steps, rewards [-0.1, 9.9], "
           "terminals [F, T], the default gamma", torch.tensor([[0.5, 0.2, 1.0, 3.0]] * 2), torch.tensor([-0.1, 9.9]),
           torch.tensor([False, True]), None)
    yield ("every action at one cell of 4 mazes: next_q (4, 4, 4), rewards and terminals (4, 4), gamma 0.5",
           *random_steps((4, 4), 0.25), 0.5)
    yield ("every action from 50 cells, as in training: next_q (50, 4, 4), rewards and terminals (50, 4), the default "
           "gamma", *random_steps((50, 4), 0.1), None)
    yield ("every cell and action of 2 mazes (5x5): next_q (2, 5, 5, 4, 4), rewards and terminals (2, 5, 5, 4), the "
           "default gamma", *random_steps((2, 5, 5, 4), 0.1), None)


@exercise("bellman_target")
def check_bellman_target(bellman_target):
    """4 steps by hand with gamma 0.9, the update by hand of section 8, then random steps shaped (4, 4) with
    gamma 0.5, (50, 4) as in training and (2, 5, 5, 4), with the default gamma; on DEVICE as in training."""
    for on, next_q, rewards, terminals, gamma in bellman_cases():
        inputs = {"next_q": next_q, "rewards": rewards, "terminals": terminals}
        expected = reference.bellman_target(*inputs.values(), *(() if gamma is None else (gamma,)))
        inputs = {name: on_device(value) for name, value in inputs.items()}
        if gamma is not None:
            inputs["gamma"] = gamma
        got = call(bellman_target, inputs, on, error_hints={
            "must match the size of tensor": "next_q is (..., 4) and rewards (...): the max over the last axis alone "
                                             "(dim=-1) leaves exactly the shape of rewards",
            "with a bool tensor is not supported": "terminals is bool: ~terminals is True where the episode goes on "
                                                   "(or 1 - terminals.float())"},
                   probe=("next_q", "rewards", "terminals"))
        gamma = GAMMA if gamma is None else gamma
        alive = ~terminals
        best = next_q.max(-1).values
        mistakes = [("terminal steps still get a future value", "after a terminal step there is no future: multiply "
                     "gamma * max Q by (~terminals)", rewards + gamma * best),
                    ("used the min over the next actions", "the target assumes the best next action: max",
                     rewards + gamma * next_q.min(-1).values * alive),
                    ("used the mean over the next actions", "the target assumes the best next action: max",
                     rewards + gamma * next_q.mean(-1) * alive),
                    ("ignores the gamma argument", "use the gamma passed in, not the global GAMMA",
                     rewards + GAMMA * best * alive if gamma != GAMMA else None),
                    ("the future is not discounted", "multiply the future value by gamma", rewards + best * alive),
                    ("the max over axis 0, not over the next actions", "next_q is (..., 4): the next actions are its "
                     "last axis, dim=-1 (training passes (N, 4, 4), where dim=0 runs over the N cells)",
                     mistaken(lambda: rewards + gamma * next_q.max(0).values * alive)),
                    ("the max over axis 1, not over the next actions", "next_q is (..., 4): the next actions are its "
                     "last axis, dim=-1 (training passes (N, 4, 4), where dim=1 is the action taken from each cell)",
                     mistaken(lambda: rewards + gamma * next_q.max(1).values * alive) if next_q.dim() > 2 else None),
                    ("keepdim=True keeps an axis of size 1, so the result has the wrong shape",
                     "leave out keepdim: the kept (..., 1) axis broadcasts against rewards (...) into a bigger tensor; "
                     "without it the result has the shape of rewards",
                     mistaken(lambda: rewards + gamma * next_q.max(-1, keepdim=True).values * alive[..., None])),
                    ("keepdim=True keeps an axis of size 1, so the result has the wrong shape",
                     "leave out keepdim: the kept (..., 1) axis broadcasts against rewards (...) into a bigger tensor; "
                     "without it the result has the shape of rewards",
                     mistaken(lambda: rewards + gamma * next_q.max(-1, keepdim=True).values * alive)),
                    ("no max over the next actions", "the future value is the best next action's: "
                     "next_q.max(dim=-1).values", mistaken(lambda: rewards + gamma * next_q * alive))]
        mistake = known_mistake(got, mistakes)
        if mistake and not close(got, expected):
            raise Diagnosis(mistake[0], on=on, expected=show(expected), got=show(got), hint=mistake[1])
        expect_tensor(got, expected, on, dtype_reason=float32_reason(
            "the loss compares these targets with the network's Q-values"))
        if close(got[alive], expected[alive]) and not close(got[terminals], expected[terminals]):
            zeroed = close(got[terminals], torch.zeros_like(got[terminals]))
            raise Diagnosis("the target of a terminal step is wrong", on=on, expected=show(expected), got=show(got),
                            hint="only the future is masked: at a terminal step the target is the reward itself"
                                 if zeroed else
                                 "no future after a terminal step: multiply gamma * max Q by (~terminals)")
        recognise(got, expected, on=on, mistakes=mistakes,
                  hint="r + gamma * (the max over the last axis of next_q), the future masked by ~terminals")


@exercise("td_loss")
def check_td_loss(td_loss):
    """Errors of 0.5, 2, 4 and 0 by hand, then 8 random errors up to about 10, on DEVICE as in training."""
    generator = torch.Generator().manual_seed(11)
    for on, predicted, target in (
            ("predicted [0, 0, 0, 1], targets [0.5, 2, -4, 1]", torch.tensor([0.0, 0.0, 0.0, 1.0]),
             torch.tensor([0.5, 2.0, -4.0, 1.0])),
            ("8 random predictions and targets", torch.randn(8, generator=generator) * 5,
             torch.randn(8, generator=generator) * 5)):
        expected = reference.td_loss(predicted, target)
        leaf = leaf_on_device(predicted)
        got = call(td_loss, {"predicted": leaf, "target": on_device(target)}, on, probe=("predicted", "target"))
        expect_tensor(got, expected, on, shape_hints={
            tuple(target.shape): "one number for the batch: the mean of the per-transition losses"},
                      dtype_reason=float32_reason("the loss of the network's float32 Q-values"))
        if not got.requires_grad:
            raise Diagnosis("the loss has no gradient", on=on,
                            hint="keep the computation in torch (no .item(), .detach() or torch.no_grad()): "
                                 "loss.backward() needs the graph")
        error = predicted - target
        huber = torch.where(error.abs() < 1, error ** 2 / 2, error.abs() - 0.5)
        recognise(got, expected, on=on, hint="the mean over the batch of the Huber loss (F.smooth_l1_loss)",
                  mistakes=[("squared error (MSE) instead of Huber",
                             "Huber grows linearly beyond an error of 1, so huge early errors give bounded gradients",
                             (error ** 2).mean()),
                            ("half the squared error instead of Huber", "Huber grows linearly beyond an error of 1",
                             (error ** 2 / 2).mean()),
                            ("absolute error (L1) instead of Huber", "Huber is quadratic, error^2 / 2, below 1",
                             error.abs().mean()),
                            ("the sum over the batch instead of the mean",
                             "take the mean: the loss should not grow with the batch size", huber.sum()),
                            ("divides the sum by N - 1, not by N", "the mean over the batch: .mean(), or the sum "
                             "divided by the number of transitions, N", huber.sum() / (len(huber) - 1)),
                            ("the quadratic part is error^2, not error^2 / 2",
                             "below an error of 1, Huber is error^2 / 2: the two pieces then meet smoothly at 1",
                             torch.where(error.abs() < 1, error ** 2, error.abs() - 0.5).mean())])
        got.backward()
        predicted.requires_grad_(True)
        expected_gradient = torch.autograd.grad(reference.td_loss(predicted, target), predicted)[0]
        if not close(leaf.grad, expected_gradient):
            raise Diagnosis("the gradient with respect to predicted is wrong", on=on,
                            expected=show(expected_gradient), got=show(leaf.grad),
                            hint="compute the loss from `predicted` with differentiable torch operations")


@exercise("sync_target")
def check_sync_target(sync_target):
    """Two random networks on DEVICE, as training has them, with tau 0.1, then 1 (a hard copy); then as training
    calls it, again and again: a sync, a gradient step on the online network, another sync."""
    for tau in (0.1, 1.0):
        on = f"two random networks (5x5 mazes, 8 hidden units), tau {tau}"
        target_net, q_net = sync_pair()
        names = [name for name, _ in target_net.named_parameters()]
        start = [param.detach().clone() for param in target_net.parameters()]
        online = [param.detach().clone() for param in q_net.parameters()]
        sync(sync_target, target_net, q_net, tau, on)
        got = [param.detach() for param in target_net.parameters()]
        expected = [t + tau * (q - t) for t, q in zip(start, online)]
        if all(close(g, e) for g, e in zip(got, expected)):
            continue
        first = next(i for i, (g, e) in enumerate(zip(got, expected)) if not close(g, e))

        def looks_like(values):
            return all(close(g, v) for g, v in zip(got, values))

        if looks_like(start):
            raise_if_some_calls_change(sync_target, tau, on)
            problem, hint = ("target_net did not change at all", "sync_target returns nothing: the caller keeps "
                             "using its target_net, so change each of its parameters in place (lerp_ or copy_ under "
                             "torch.no_grad()), for every tau; a new network, or a new tensor assigned to a loop "
                             "variable, never reaches the caller")
        elif looks_like(online):
            problem, hint = ("copied q_net whatever tau is", "move only a fraction tau of the way: "
                             "target <- (1 - tau) * target + tau * online")
        elif looks_like([q + tau * (t - q) for t, q in zip(start, online)]):
            problem, hint = ("tau and 1 - tau are swapped", "tau is the share of the online weights: "
                             "target <- (1 - tau) * target + tau * online")
        elif all(close(g, e) or close(g, s) for g, e, s in zip(got, expected, start)):
            skipped = [name for name, g, e in zip(names, got, expected) if not close(g, e)]
            listed = ", ".join(skipped[:3]) + (f" and {len(skipped) - 3} more" if len(skipped) > 3 else "")
            problem, hint = (f"{len(skipped)} of {len(names)} parameters were not synced: {listed}",
                             "every parameter: zip(target_net.parameters(), q_net.parameters()) gives them all, the "
                             "biases and decay_logits (which belongs to no layer) too")
        else:
            problem, hint = "wrong target weights", "target <- (1 - tau) * target + tau * online, for every parameter"
        values = " (its first 6 values)" if expected[first].numel() > 6 else ""
        named = names[first] in problem  # the problem lists the parameters already
        raise Diagnosis(problem if named else f"{problem} (parameter {first}, {names[first]}, differs)", on=on,
                        expected=show(expected[first].flatten()[:6]) + values, got=show(got[first].flatten()[:6]),
                        hint=hint)
    raise_on_wrong_sync_in_training(sync_target)


def raise_if_some_calls_change(sync_target, tau, on, calls=30):
    """A Diagnosis if `sync_target`, which left the target alone, changes it on a later call with the same two
    networks (a hard copy every N calls, say): something kept from one call to the next decides."""
    target_net, q_net = sync_pair()
    for call_number in range(1, calls + 1):
        before = [param.detach().clone() for param in target_net.parameters()]
        try:
            sync_target(target_net, q_net, tau)
        except Exception:
            return
        if not all(same(old, param.detach()) for old, param in zip(before, target_net.parameters())):
            raise Diagnosis(f"target_net did not change on the first calls, and then changed on call {call_number} "
                            f"of {calls} more with the same networks: it counts its calls", on=on,
                            hint="training calls sync_target after every gradient step, and every call moves every "
                                 "target weight a fraction tau of the way to the online weights: no counter, and no "
                                 "hard copy every N calls (that is another way to keep a target network; this one "
                                 "follows smoothly, with tau)")


def sync_pair():
    """A target network and an online network, random, on DEVICE, with different decays (every network starts with
    the same ones), so that every parameter must be synced."""
    target_net, q_net = random_net(seed=12).to(DEVICE), random_net(seed=13).to(DEVICE)
    with torch.no_grad():
        q_net.decay_logits.add_(torch.linspace(-0.5, 0.5, len(q_net.decay_logits), device=DEVICE))
    return target_net, q_net


def sync(sync_target, target_net, q_net, tau, on):
    """The learner's sync_target(target_net, q_net, tau), through `call`."""
    call(sync_target, {"target_net": target_net, "q_net": q_net, "tau": tau}, on, may_change=("target_net",),
         change_hints={"q_net": "the target follows the online network: change target_net, leave q_net alone"},
         random_hint="the same two networks must give the same target every time: no random numbers, and nothing "
                     "remembered from an earlier call (training calls sync_target after every step, with the same "
                     "networks)",
         error_hints={"leaf Variable that requires grad": "an in-place change to a network's weights needs "
                                                          "torch.no_grad() around it"}, probe=("target_net", "q_net"))


SYNCS_IN_TRAINING = 3  # sync_target calls in a row, each after a gradient step on the online network


def raise_on_wrong_sync_in_training(sync_target):
    """Training's own loop, a few steps of it, with the same two networks throughout: the target must end as the
    reference's does."""
    expected, _ = synced_in_training(lambda target_net, q_net, tau, on: reference.sync_target(target_net, q_net, tau))
    got, on = synced_in_training(lambda target_net, q_net, tau, on: sync(sync_target, target_net, q_net, tau, on))
    wrong = [index for index, (mine, theirs) in enumerate(zip(got, expected)) if not close(mine, theirs)]
    if wrong:
        first = wrong[0]
        raise Diagnosis(f"after {SYNCS_IN_TRAINING} calls as training makes them, the target's weights are wrong "
                        f"(parameter {first} differs)", on=on, expected=show(expected[first].flatten()[:6]),
                        got=show(got[first].flatten()[:6]),
                        hint="training calls sync_target after every gradient step, with the same two networks: each "
                             "call moves every target weight a fraction tau of the way to the online weights as they "
                             "are now, and keeps nothing from one call to the next")


def synced_in_training(sync_with):
    """The target network's weights after SYNCS_IN_TRAINING of training's steps, each a gradient step on the online
    network's TD loss in 4 training mazes, then sync_with(target_net, q_net, training's tau, on); and the last step's
    description."""
    tau = reference.TrainConfig().tau
    mazes = on_device(training_mazes(4, seed=15, width=5))
    target_net, q_net = sync_pair()
    optimiser = torch.optim.SGD(q_net.parameters(), lr=0.1)  # a step in proportion to the gradient
    for step in range(1, SYNCS_IN_TRAINING + 1):
        on = (f"as training calls it: two random networks (5x5 mazes, 8 hidden units), tau {tau}, call {step} of "
              f"{SYNCS_IN_TRAINING}, each after a gradient step on the online network's TD loss")
        ATTEMPT.update(on=on)  # an exception in the gradient step comes from the calls before
        loss = reference.td_loss_on_mazes(q_net, target_net, mazes)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        sync_with(target_net, q_net, tau, on)
    return [param.detach() for param in target_net.parameters()], on


# ---------------------------------------------------------------------------------------------
# 16. Returns and paths


@exercise("discounted_return")
def check_discounted_return(discounted_return):
    """[1, 2, 3] with gamma 0.5 by hand, an empty episode, and random episodes with and without gamma."""
    rng = random.Random(16)
    episode = [round(rng.uniform(-2, 2), 2) for _ in range(12)] + [10.0]
    for on, rewards, gamma in (("rewards [1, 2, 3], gamma 0.5", [1.0, 2.0, 3.0], 0.5),
                               ("an empty episode [], gamma 0.9", [], 0.9),
                               (f"rewards {episode}, gamma 0.8", list(episode), 0.8),
                               (f"rewards {episode}, the default gamma", list(episode), None)):
        inputs = {"rewards": rewards} if gamma is None else {"rewards": rewards, "gamma": gamma}
        expected = reference.discounted_return(*inputs.values())
        got = call(discounted_return, inputs, on, change_hints={
            "rewards": "read the list without changing it (no pop, reverse or sort in place)"},
                   error_hints={"": "an episode with no steps has a return of 0: start the sum from 0"} if not rewards
                   else None)
        if not is_number(got):
            what = f"tensor of shape {tuple(got.shape)}" if isinstance(got, torch.Tensor) else type(got).__name__
            raise Diagnosis(f"returned a {what}, expected a Python number", on=on, expected=expected, got=show(got),
                            hint="return one float, as the docstring says: section 16 averages returns with "
                                 "statistics.mean, which fails on tensors, prints them with {:.2f} and compares two "
                                 "of them with >. Add up the discounted rewards into one number; if you did it with "
                                 "torch, .item() turns a tensor of one value into a float")
        gamma = GAMMA if gamma is None else gamma
        recognise(got, expected, on=on, hint="sum over t of gamma**t * rewards[t]",
                  mistakes=[("the first reward is discounted too (off by one)",
                             "t counts from 0: the first reward gets gamma**0 = 1",
                             sum(r * gamma ** (t + 1) for t, r in enumerate(rewards))),
                            ("the rewards are not discounted", "multiply reward t by gamma**t", sum(rewards)),
                            ("discounted back to front", "the first reward counts most: gamma**0 for rewards[0]",
                             sum(r * gamma ** t for t, r in enumerate(reversed(rewards)))),
                            ("ignores the gamma argument", "use the gamma passed in, not the global GAMMA",
                             sum(r * GAMMA ** t for t, r in enumerate(rewards)))])


def is_number(value):
    """A real number, Python's or numpy's; not a tensor, which statistics.mean cannot average."""
    if isinstance(value, torch.Tensor):
        return False
    return isinstance(value, (int, float)) or type(value).__name__.startswith(("float", "int"))  # numpy's too


LOOPED_MAZE = reference.maze_from_text("""
    .....
    .#.#.
    .....
    .#.#.
    ....E
""")
# Training maze 15 (5x5) with the walls at (0, 1) and (2, 1) opened: the only shortest way out is along the top and
# down the right side (8 steps); a search that heads for the exit first (down, as far from the exit as right) wanders
# through the loops on the left and reaches the exit in 16.
LONG_WAY_ROUND = reference.maze_from_text("""
    .....
    .#.#.
    ...#.
    .#.#.
    ...#E
""")
# The way down the left side passes a crop (8 steps); the way out that harvests nothing takes 12.
ITEM_IN_THE_WAY = reference.maze_from_text("""
    .....
    .###.
    C#...
    .#.##
    ....E
""")


# A search that is right but far too slow (one that queues cells it has seen before, say) passes small mazes and
# then holds up the walk-through for minutes, which calls it on 1,000 production mazes: each call gets this long.
PATH_CALL_LIMIT_S = 3


@exercise("shortest_path_to_exit")
def check_shortest_path_to_exit(shortest_path_to_exit):
    """An open maze with loops, a maze whose quick way out passes a crop, random training mazes, a maze with loops
    whose shortest way out starts away from the exit, mazes of the new site, then a production maze and a maze of
    the new site with long ways out, each call within a few seconds."""
    cases = [("an open maze with loops" + maze_text(LOOPED_MAZE), LOOPED_MAZE),
             ("a maze whose short way out passes a crop" + maze_text(ITEM_IN_THE_WAY), ITEM_IN_THE_WAY)]
    for seed in (2, 9):
        maze = reference.make_training_maze(seed, width=7)
        cases.append((f"training maze {seed}" + maze_text(maze), maze))
    cases.append(("a maze with loops whose shortest way out starts away from the exit" + maze_text(LONG_WAY_ROUND),
                  LONG_WAY_ROUND))
    for seed in (3, 5):
        maze = reference.make_moved_exit_maze(seed, width=7)
        cases.append((f"a maze of the new site, the exit away from the corner (seed {seed})" + maze_text(maze), maze))
    for what, maze in (("a production maze", spoilers.make_production_maze(57)),
                       ("a maze of the new site", reference.make_moved_exit_maze(239))):
        way_out = len(reference.shortest_path_to_exit(maze)) - 1
        cases.append((f"{what} of the walk-through, with a way out of {way_out} steps" + maze_text(maze), maze))
    for on, maze in cases:
        expected = reference.shortest_path_to_exit(maze)
        exit_cell = tuple((maze == EXIT).nonzero()[0].tolist())
        never_there = (f"the search never reached the exit {exit_cell}: its code is EXIT, not EMPTY, so queue a "
                       f"neighbour if it is EMPTY or the exit")
        got = call(shortest_path_to_exit, {"maze": maze}, on, unique=False,  # any shortest walk is right
                   change_hints={"maze": "keep what you have visited in a dict or set of your own (came_from): "
                                         "writing into the maze changes it for whoever called you"},
                   error_hints={str(exit_cell): f"came_from has no entry for the exit: {never_there}",
                                "out of bounds": PAST_THE_BORDER},
                   time_limit_s=PATH_CALL_LIMIT_S,
                   slow_hint="the walk-through asks this of 1,000 production mazes: a search that queues cells it has "
                             "queued before walks every corridor back and forth, and its queue doubles with each step "
                             "of the way. Queue a cell only if it is not in came_from yet (a dict or a set: `in` on a "
                             "list is slow too). Or, if the line above is in the walk back from the exit, that loop "
                             "never moves: each turn must step to the cell it came from, cell = came_from[cell], "
                             "until START")
        got = as_cells(got, on, expected, "path_rewards walks the path pair by pair and asks `here != there` of "
                                          "each pair of cells, which a tensor cannot answer: return a list",
                       tuples_reason="section 26 asks `opened_post(maze) in shortest_path_to_exit(maze)`, and a "
                                     "(row, col) tuple never equals a [row, col] list: append tuple(cell), or the "
                                     "(row, col) keys of came_from",
                       none_hint=f"if your search gives up with None when its queue runs empty, {never_there}; "
                                 f"else the function ends without `return path`")
        if not got:
            raise Diagnosis("returned an empty path", on=on, expected=expected, got=got,
                            hint="the walk starts at START and ends at the exit, both included; the exit is not "
                                 "EMPTY, so a search that only steps onto EMPTY cells never reaches it")
        raise_on_invalid_path(got, expected, maze, on)


def raise_on_invalid_path(path, expected, maze, on):
    """Any shortest walk from START to the exit over EMPTY cells is right; say what is wrong with `path`."""
    try:
        raise_on_invalid_way(path, expected, maze, on)
    except Diagnosis as problem:
        swapped = [(col, row) for row, col in path]
        try:
            raise_on_invalid_way(swapped, expected, maze, on)
        except Diagnosis:
            raise problem from None
        raise Diagnosis("(column, row) pairs instead of (row, column)", on=on, expected=expected, got=path,
                        hint="maze[row, col]: the row comes first, as in the (row, col) pairs that neighbours() "
                             "yields") from None


def raise_on_invalid_way(path, expected, maze, on):
    """raise_on_invalid_path, without looking for swapped rows and columns."""
    width = maze.shape[0]
    exit_cell = tuple((maze == EXIT).nonzero()[0].tolist())
    if path[0] != START:
        reversed_path = path[0] == exit_cell and path[-1] == START
        raise Diagnosis("the path is reversed" if reversed_path else f"the path starts at {path[0]}", on=on,
                        expected=expected, got=path,
                        hint="walking came_from back from the exit gives the path backwards: reverse it"
                        if reversed_path else "start the walk at START, (0, 0), and include it")
    if path[-1] != exit_cell:
        corner = (width - 1, width - 1)
        raise Diagnosis(f"the path ends at {path[-1]}, not at the exit {exit_cell}", on=on, expected=expected, got=path,
                        hint="the exit is wherever the maze holds EXIT, not always in the corner: find it with "
                             "(maze == EXIT).nonzero()" if path[-1] == corner and exit_cell != corner else
                        "the walk ends on the exit, included: walk came_from back from the exit cell itself")
    for here, there in zip(path, path[1:]):
        if sorted((abs(here[0] - there[0]), abs(here[1] - there[1]))) == [0, width - 1]:
            raise Diagnosis(f"the path wraps round the border, from {here} to {there}", on=on, expected=expected,
                            got=path, hint=PAST_THE_BORDER)
        if abs(here[0] - there[0]) + abs(here[1] - there[1]) != 1:
            raise Diagnosis(f"{here} and then {there} are not neighbours", on=on, expected=expected, got=path,
                            hint="every step moves one cell up, down, left or right: list every cell on the way")
    for cell in path:
        if not (0 <= cell[0] < width and 0 <= cell[1] < width):
            raise Diagnosis(f"the path leaves the maze at {cell}", on=on, expected=expected, got=path,
                            hint=PAST_THE_BORDER)
        code = maze[cell].item()
        if code == WALL:
            raise Diagnosis(f"the path walks through the wall at {cell}", on=on, expected=expected, got=path,
                            hint="queue a neighbour only if it is EMPTY or the exit: maze[cell] tells")
        if code in (CROP, HUMAN):
            raise Diagnosis(f"the path steps on {CODE_NAMES[code]} at {cell}", on=on, expected=expected, got=path,
                            hint="only EMPTY cells and the exit are allowed: crops and humans block the way")
    if len(path) > len(expected):
        raise Diagnosis(f"not the shortest path: {len(path) - 1} steps, the shortest takes {len(expected) - 1}",
                        on=on, expected=expected, got=path,
                        hint="breadth-first: take cells from the front of the queue (pop(0)), so that they come in "
                             "order of distance from the start; taking them from the back (pop()), or a recursive "
                             "search, is depth-first, which finds a way out but not the shortest, whichever "
                             "neighbour it tries first (the one nearest the exit, say)")


# Hand-made: the exit in the middle of the maze, the corner empty.
EXIT_INSIDE = reference.maze_from_text("""
    ..C#H
    .#.#.
    ..E..
    .###.
    H....
""")


@exercise("corner_proxy")
def check_corner_proxy(corner_proxy):
    """A hand-made maze with its exit in the middle, then mazes of the new site (7x7), as section 16 scores them."""
    cases = [("a maze with its exit in the middle" + maze_text(EXIT_INSIDE), EXIT_INSIDE)]
    for seed in (4, 8):
        maze = reference.make_moved_exit_maze(seed, width=7)
        cases.append((f"a maze of the new site (seed {seed})" + maze_text(maze), maze))
    for on, maze in cases:
        expected = reference.corner_proxy(maze)
        got = call(corner_proxy, {"maze": maze}, on, change_hints={
            "maze": "clone the maze first (maze.clone()) and change the copy: writing into the maze moves the exit "
                    "for whoever called you, and path_rewards then scores the agent in the wrong maze"},
                   probe=("maze",))
        expect_tensor(got, expected, on, kind_hint="a maze of cell codes, like the input: keep its dtype",
                      dtype_reason="a maze of cell codes keeps the input's dtype (int8); clone() does")
        if not torch.equal(got, expected):
            raise proxy_diagnosis(got, expected, maze, on)


def proxy_diagnosis(got, expected, maze, on):
    """What is wrong with corner_proxy's maze `got`: where the exit went, what the old exit became, what else moved."""
    shown = {"on": on, "expected": maze_text(expected), "got": maze_text(got)}
    corner = reference.corner(maze.shape[0])
    old_exit = tuple((maze == EXIT).nonzero()[0].tolist())
    exits = [tuple(cell) for cell in (got == EXIT).nonzero().tolist()]
    whole_rows = maze.clone()
    whole_rows[list(old_exit)] = EMPTY  # what indexing with the [[row, col]] of nonzero() writes: two whole rows
    whole_rows[corner] = EXIT
    if torch.equal(got, whole_rows):
        rows = " and ".join(map(str, sorted(set(old_exit))))
        return Diagnosis(f"emptied the whole of row {rows}, not the old exit's cell", **shown,
                         hint="(maze == EXIT).nonzero() is a (1, 2) tensor [[row, col]], and indexing with it picks "
                              "whole rows: write proxy[proxy == EXIT] = EMPTY, or index with the two numbers, "
                              "proxy[row, col]")
    if len(exits) > 1:
        return Diagnosis(f"{len(exits)} exits, at {exits}", **shown,
                         hint="empty the old exit's cell (EMPTY) as well as putting EXIT in the corner: a maze has one "
                              "exit")
    if exits == [old_exit]:
        return Diagnosis(f"the exit is still at {old_exit}, not in the bottom-right corner", **shown,
                         hint="put EXIT in the corner, proxy[-1, -1] = EXIT, and EMPTY where the exit was")
    if exits and exits != [corner]:
        return Diagnosis(f"the exit is at {exits[0]}, not in the bottom-right corner {corner}", **shown,
                         hint="the corner is proxy[-1, -1], row n - 1 and column n - 1, where every training maze has "
                              "its exit (row 0 is the top row)")
    if not exits:
        return Diagnosis(f"no exit at all: the corner holds {CODE_NAMES.get(got[corner].item(), 'no cell code')}",
                         **shown, hint=f"the corner becomes EXIT, whose code is {EXIT}: proxy[-1, -1] = EXIT")
    if got[old_exit] != EMPTY:
        return Diagnosis(f"the old exit's cell {old_exit} holds {CODE_NAMES.get(got[old_exit].item(), 'no cell code')}",
                         **shown, hint=f"the old exit's cell becomes EMPTY (code {EMPTY}), a cell the agent can walk "
                                       f"through")
    return Diagnosis("other cells changed too", **shown,
                     hint="only two cells change: the old exit (to EMPTY) and the corner (to EXIT)")


def value_map_cases():
    """(description, q_map, maze): Q-maps whose values say where they sit, and random ones."""
    generator = torch.Generator().manual_seed(44)
    action, row, col = torch.meshgrid(*(torch.arange(size) for size in (4, 5, 5)), indexing="ij")
    yield ("a Q-map whose value at [action, row, col] is 100 action + 10 row + col, on the maze"
           + maze_text(ITEMS_MAZE), (100 * action + 10 * row + col).float(), ITEMS_MAZE)
    for seed in (2, 7):
        maze = reference.make_moved_exit_maze(seed, width=7)
        yield (f"a random Q-map on a maze of the new site (seed {seed})" + maze_text(maze),
               torch.randn(4, 7, 7, generator=generator) * 5 + 8, maze)


def same_map(got, expected):
    """Whether two value maps agree: NaN exactly where `expected` has NaN, the same values (to TOLERANCE) elsewhere."""
    known = ~expected.isnan()
    return (isinstance(got, torch.Tensor) and got.shape == expected.shape and got.is_floating_point()
            and torch.equal(got.isnan(), ~known) and close(got[known], expected[known]))


@exercise("value_map")
def check_value_map(value_map):
    """A Q-map whose values say where they sit, on a hand-made maze, then random Q-maps on 7x7 mazes of the new
    site."""
    for on, q_map, maze in value_map_cases():
        expected = reference.value_map(q_map, maze)
        got = call(value_map, {"q_map": q_map, "maze": maze}, on, probe=("q_map",), probe_hint=(
            "as the exercise's hint says, the maze may be on another device than the Q-map (a Q-map straight from "
            "the network on a GPU, a maze on the CPU): compare maze.to(q_map.device) == EMPTY, and keep the result "
            "on the Q-map's device (no .cpu())"))
        width = maze.shape[0]
        expect_tensor(got, expected, on, shape_hints={
            (4, width, width): "one value per cell: the largest over the four actions, dim=0",
            (4, width): "the actions are the first axis of q_map (4, n, n): the largest over them is dim=0",
            (width,): "the largest over the actions is q_map.max(dim=0), not over a row or column"},
                      kind_hint="values are floats, like the Q-values; nan marks where the agent cannot stand",
                      dtype_reason=float32_reason("the values are the Q-map's, float32 (torch.nan is a plain number: "
                                                  "torch.where(..., values, torch.nan) keeps their dtype)"))
        if same_map(got, expected):
            continue
        standing = maze == EMPTY
        values = q_map.max(0).values
        best = "q_map.max(dim=0).values: the value of the best action"
        # (problem, hint, the map that mistake gives)
        mistakes = [("the smallest Q-value, not the largest", best,
                     torch.where(standing, q_map.min(0).values, torch.nan)),
                    ("the mean Q-value, not the largest", best, torch.where(standing, q_map.mean(0), torch.nan)),
                    ("the index of the best action, not its value", ".max(dim=0).values, not .indices or argmax",
                     torch.where(standing, q_map.argmax(0).float(), torch.nan)),
                    ("no nan where the agent cannot stand: walls, items and the exit got values too",
                     "torch.where(maze == EMPTY, values, torch.nan)", values),
                    ("items and the exit got values: the agent stands only on EMPTY cells",
                     "stepping onto an item harvests it and onto the exit ends the episode, so the agent never stands "
                     "there: maze == EMPTY, not maze != WALL", torch.where(maze != WALL, values, torch.nan)),
                    ("the values and the nans are swapped", "torch.where(condition, if_true, if_false): "
                     "torch.where(maze == EMPTY, values, torch.nan)", torch.where(standing, torch.nan, values)),
                    ("0 where the agent cannot stand, expected nan",
                     "a 0 reads as a value (Q-values can be below 0, and section 18 looks for the largest): torch.nan "
                     "marks a cell that has none", torch.where(standing, values, 0.0)),
                    ("rows and columns are swapped", "value[row, col] is about q_map[:, row, col] and maze[row, col]: "
                                                     "no transpose", expected.T)]
        named = next(((problem, hint) for problem, hint, mistaken in mistakes if same_map(got, mistaken)), None)
        if named:
            raise Diagnosis(named[0], on=on, expected=show(expected), got=show(got), hint=named[1])
        valued = ~standing & ~got.isnan()
        if valued.any():
            cell = tuple(valued.nonzero()[0].tolist())
            raise Diagnosis(f"a value at {cell}, where the maze holds {CODE_NAMES.get(maze[cell].item(), '?')}",
                            on=on, expected=show(expected), got=show(got),
                            hint="only EMPTY cells get a value, nan everywhere else: "
                                 "torch.where(maze == EMPTY, values, torch.nan)")
        if got[standing].isnan().any():
            cell = tuple((standing & got.isnan()).nonzero()[0].tolist())
            raise Diagnosis(f"nan at {cell}, an empty cell", on=on, expected=show(expected), got=show(got),
                            hint="every EMPTY cell gets the largest of its four Q-values")
        raise Diagnosis("wrong values", on=on, expected=show(expected), got=show(got),
                        hint="the largest of the four Q-values of each EMPTY cell")


@exercise("dream_walls")
def check_dream_walls(dream_walls):
    """Seeded logits from -6 to 6 on 3 mazes of width 5, a random half of the cells fixed, fixed walls random, on
    DEVICE as optimise_walls has them."""
    generator = torch.Generator().manual_seed(20)
    logits = torch.randn(3, 5, 5, generator=generator) * 4
    logits[0, 0, :] = torch.tensor([-6.0, -1.0, 0.0, 1.0, 6.0])
    fixed = torch.rand(3, 5, 5, generator=generator) < 0.5
    fixed_walls = (torch.rand(3, 5, 5, generator=generator) < 0.5).float()
    on = "3 mazes of width 5: logits from -6 to 6, a random half of the cells fixed, fixed cells half walls"
    leaf = leaf_on_device(logits)
    expected = reference.dream_walls(logits, fixed, fixed_walls)
    got = call(dream_walls, {"logits": leaf, "fixed": on_device(fixed), "fixed_walls": on_device(fixed_walls)}, on,
               change_hints={"logits": "build a new tensor: the optimiser owns the logits"},
               error_hints={"leaf Variable that requires grad": "torch.sigmoid(logits), not logits.sigmoid_(): the "
                                                                "logits belong to the optimiser; build a new tensor"},
               probe=("logits", "fixed", "fixed_walls"))
    expect_tensor(got, expected, on, shape_hints={(3, 25): "keep the (B, n, n) shape"},
                  dtype_reason="optimise_walls feeds these walls to the network, whose weights are float32: a "
                               "float64 input makes it raise. Keep the logits' dtype (no .double())")
    if close(got, torch.where(fixed, torch.sigmoid(logits), fixed_walls)):
        raise Diagnosis("free cells and fixed cells are swapped", on=on, expected=show(expected[0]), got=show(got[0]),
                        hint="torch.where(fixed, fixed_walls, sigmoid(logits)): where the condition holds, the "
                             "first value is taken")
    if not close(got[fixed], expected[fixed]):
        wrong = close(got[fixed], torch.sigmoid(logits)[fixed])
        raise Diagnosis("fixed cells do not keep their value", on=on, expected=show(expected[fixed][:8]),
                        got=show(got[fixed][:8]),
                        hint="the sigmoid applies only to free cells: torch.where(fixed, fixed_walls, sigmoid(logits))"
                        if wrong else "fixed cells take fixed_walls, which is 1.0 for a wall and 0.0 for open")
    free = ~fixed
    recognise(got[free], expected[free], on=on, problem="free cells have wrong wall strengths",
              hint="free cells are sigmoid(logits)",
              mistakes=[("free cells are clamped, not squashed",
                         "a clamp has no gradient outside [0, 1]: use torch.sigmoid(logits)",
                         logits.clamp(0, 1)[free]),
                        ("free cells are 1 - sigmoid(logits)", "a large logit means a wall: sigmoid(logits)",
                         (1 - torch.sigmoid(logits))[free]),
                        ("free cells are rounded to 0 or 1",
                         "rounding has no gradient: sigmoid(logits) is a dial that gradient ascent can turn",
                         (logits > 0).float()[free])])
    if not got.requires_grad:
        raise Diagnosis("no gradient reaches the logits", on=on,
                        hint="no torch.no_grad(), .detach() or .item() here: gradient ascent moves the logits "
                             "through these wall strengths")
    got.sum().backward()
    expected_gradient = torch.where(fixed, 0.0, torch.sigmoid(logits) * (1 - torch.sigmoid(logits)))
    if leaf.grad is None or not close(leaf.grad, expected_gradient):
        raise Diagnosis("the gradient with respect to the logits is wrong", on=on,
                        expected=show(expected_gradient[0]), got=show(None if leaf.grad is None else leaf.grad[0]),
                        hint="fixed cells must not pass a gradient to their logits, and free cells pass the "
                             "sigmoid's: torch.where does both")


OBJECTIVE_ERROR_HINTS = {
    "at non-singleton dimension 1": "a mask with another number of actions than q_values' 4: F.one_hot(actions) "
                                    "makes as many columns as the largest action + 1 (3 where no action is RIGHT); "
                                    "give the number of actions, F.one_hot(actions, num_classes=4)",
    "leaf Variable that requires grad": "this writes into q_values in place (masked_fill_, or q_values[...] = ...), "
                                        "the network's output that the gradient flows back through: masked_fill, "
                                        "without the _, returns a new tensor",
    "must match the size of tensor": "two terms of different lengths: each must be (B,), one number per state (a "
                                     "logsumexp over the actions is dim=1; dim=0 runs over the batch)"}


@exercise("dream_objective")
def check_dream_objective(dream_objective):
    """Hand-made Q-values for 3 states, then 8 seeded random states with random actions, on DEVICE as optimise_walls
    has them."""
    generator = torch.Generator().manual_seed(21)
    cases = [("Q-values [1, 2, 3, 4], [0, 0, 0, 0], [5, -5, 0, 1] with actions [3, 0, 1]",
              torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0], [5.0, -5.0, 0.0, 1.0]]),
              torch.tensor([3, 0, 1])),
             ("8 random states (Q-values ~ 3 N(0, 1)) with random actions",
              torch.randn(8, 4, generator=generator) * 3, torch.randint(4, (8,), generator=generator))]
    for on, q_values, actions in cases:
        expected = reference.dream_objective(q_values, actions)
        got = call(dream_objective, {"q_values": leaf_on_device(q_values), "actions": on_device(actions)}, on,
                   error_hints=OBJECTIVE_ERROR_HINTS, probe=("q_values", "actions"))
        batch = len(actions)
        expect_tensor(got, expected, on, shape_hints={
            (batch, 4): "one number per state: the chosen action's Q minus the logsumexp of the others",
            (batch, 1): "squeeze the last axis: (B,)", (): "one number per state, not their mean",
            (4,): "the logsumexp runs over the actions, dim=1; dim=0 is the batch"},
                      dtype_reason=float32_reason("the objective comes from the network's Q-values"))
        chosen = q_values.gather(1, actions[:, None]).squeeze(1)
        others = q_values.masked_fill(F.one_hot(actions, 4).bool(), float("-inf"))
        recognise(got, expected, on=on, hint="Q[a] - torch.logsumexp(Q with a masked to -inf, dim=1)",
                  nan_hint="0 * -inf is NaN: mask the chosen action with q_values.masked_fill(mask, float('-inf')), "
                           "not by multiplying or adding -inf",
                  mistakes=[("the sign is flipped", "the objective grows as the chosen action wins: Q[a] - ...",
                             -expected),
                            ("the chosen action is inside the logsumexp",
                             "mask it out first: q_values.masked_fill(one_hot(actions, 4).bool(), float('-inf'))",
                             chosen - torch.logsumexp(q_values, 1)),
                            ("the hard max of the other actions instead of their logsumexp",
                             "the max gives a gradient to the runner-up alone: use torch.logsumexp",
                             chosen - others.max(1).values),
                            ("the mean of the other actions instead of their logsumexp",
                             "a mean lets one strong rival hide behind two weak ones: use torch.logsumexp",
                             chosen - (q_values.sum(1) - chosen) / 3)])
        if not got.requires_grad:
            raise Diagnosis("no gradient flows back to the Q-values", on=on,
                            hint="no torch.no_grad(), .detach() or .item(): the dream climbs this objective's gradient")


WALL_COST = 0.5  # the check's penalty per unit of mean wall strength, as the open-start dreams have it


def wall_penalty(walls):
    """The check's penalty: WALL_COST per unit of mean wall strength."""
    return WALL_COST * walls.mean((1, 2))


DREAMING_NET_SCALE = 300.0  # a random network's Q-values differ by hundredths; a trained one's by units


def dreaming_net():
    """A tiny seeded network (5x5 mazes, 8 hidden units) on DEVICE, as the walk-through has its agent, with its
    Q-values scaled up to differ by a few units, as a trained network's do: then the gradient through the network,
    and not only the penalty, decides the cells of a dream, and each usual mistake gives other walls."""
    q_net = random_net(seed=24)
    with torch.no_grad():
        q_net.head[-1].weight.mul_(DREAMING_NET_SCALE)
        q_net.head[-1].bias.mul_(DREAMING_NET_SCALE)
    return q_net.to(DEVICE)


def ascend(q_net, mazes, positions, actions, logits, penalty, config, zero_grad=True, sign=1.0, objective_sign=1.0,
           through_network=True, optimiser=torch.optim.Adam, new_optimiser_each_step=False, last_step=True,
           network_sees_logits=False):
    """The walls that optimise_walls would give with one mistake: no zero_grad; sign=-1 (descending); the objective
    added (objective_sign=-1); no gradient through the network; another optimiser class, or a new one every step;
    stopping one step short (`last_step`=False returns the walls before it); the logits in the wall plane instead of
    the walls."""
    fixed, fixed_walls = reference.fixed_cells(mazes, positions).to(DEVICE), (mazes == WALL).float().to(DEVICE)
    positions, actions = positions.to(DEVICE), actions.to(DEVICE)
    planes = reference.encode_mazes(mazes.to(DEVICE))
    logits = logits.clone().to(DEVICE).requires_grad_(True)
    step = optimiser([logits], lr=config.learning_rate)
    for _ in range(config.steps):
        if new_optimiser_each_step:
            step = optimiser([logits], lr=config.learning_rate)
        walls = reference.dream_walls(logits, fixed, fixed_walls)
        seen = logits if network_sees_logits else walls
        q_values = reference.q_values_at(q_net(reference.with_wall_plane(planes, seen)), positions)
        objective = reference.dream_objective(q_values if through_network else q_values.detach(), actions)
        loss = sign * (penalty(walls) - objective_sign * objective).mean()
        if zero_grad:
            step.zero_grad()
        loss.backward()
        step.step()
    final = walls if not last_step else reference.dream_walls(logits, fixed, fixed_walls)
    return final.detach().cpu()


@exercise("optimise_walls", uses=("encode_mazes", "q_values_at", "dream_walls", "dream_objective"))
def check_optimise_walls(optimise_walls):
    """A tiny seeded network on DEVICE (5x5 mazes, 8 hidden units, Q-values a few units apart) dreaming for 3
    placements, 6 steps of Adam at 0.3."""
    q_net = dreaming_net()
    positions, actions = torch.tensor([[2, 2], [1, 0], [3, 3]]), torch.tensor([RIGHT, DOWN, UP])
    mazes = reference.open_mazes_with_a_human(positions, actions, width=5)
    logits = -1.0 + torch.randn(3, 5, 5, generator=torch.Generator().manual_seed(24))
    config = reference.DreamConfig(steps=6, learning_rate=0.3)
    on = (f"a random network on {DEVICE} (5x5 mazes, 8 hidden units, Q-values a few units apart); open 5x5 "
          f"mazes with the agent at [2, 2], [1, 0], [3, 3] and a human to its right, below, above; logits -1 + N(0, "
          f"1); penalty {WALL_COST} * mean wall strength; DreamConfig(steps=6, learning_rate=0.3)")
    inputs = {"q_net": q_net, "mazes": mazes, "positions": positions, "actions": actions, "logits": logits,
              "penalty": wall_penalty, "config": config}
    expected = reference.optimise_walls(*inputs.values())
    got = call(optimise_walls, inputs, on, change_hints={
        "q_net": "only the wall logits are optimised: torch.optim.Adam([logits], ...); the network's weights stay "
                 "as they are, or the dream would be about another network",
        "logits": "start from a copy, logits.clone(): the caller's starting logits stay as they were"},
               error_hints={"does not require grad": "the logits to optimise need requires_grad_(True), and nothing "
                                                     "on the way to the loss may be under torch.no_grad()",
                            "non-leaf Tensor": "optimise the logits, a leaf made with logits.clone().to(DEVICE)."
                                               "requires_grad_(True) (in that order), not the walls or anything else "
                                               "computed from them"},
               device=torch.device("cpu"),
               device_hint="the callers binarise and draw these walls on the CPU: finish with .detach().cpu()",
               probe=("q_net",), probe_with={"q_net": StandInQNetwork(5, seed=24)})  # the real one reads values
    expect_tensor(got, expected, on, shape_hints={(3, 25): "keep the (B, n, n) shape of the logits"})
    if got.requires_grad:
        raise Diagnosis("the result still carries the autograd graph", on=on,
                        hint="return dream_walls(...).detach().cpu(): the callers binarise and draw these walls, "
                             "and matplotlib cannot draw a tensor that requires grad")
    if close(got, expected):
        return
    fixed = reference.fixed_cells(mazes, positions)
    if ((got < 0) | (got > 1)).any():
        raise Diagnosis("returned values outside [0, 1], not wall strengths", on=on, expected=show(expected[0]),
                        got=show(got[0]), hint="return dream_walls(logits, fixed, fixed_walls).detach().cpu(): the "
                                               "wall strengths, not the logits they come from")
    if not close(got[fixed], (mazes == WALL).float()[fixed]):
        raise Diagnosis("the fixed cells changed (the agent's, the human's, the start or the exit)", on=on,
                        expected=show(expected[0]), got=show(got[0]),
                        hint="build the walls with dream_walls(logits, fixed, fixed_walls) at every step and at the "
                             "end: it keeps the fixed cells as they are, which a sigmoid of the logits alone moves")
    start = reference.dream_walls(logits, fixed, (mazes == WALL).float())
    arguments = list(inputs.values())
    recognise(got, expected, on=on, problem="wrong wall strengths after the ascent",
              hint="config.steps steps of Adam(lr=config.learning_rate) on [logits], each on the loss "
                   "(penalty(walls) - dream_objective(q_values, actions)).mean()",
              mistakes=[("the walls never moved", "the logits must require grad (logits.clone().to(DEVICE)."
                                                  "requires_grad_(True)), be what the optimiser holds (torch.optim."
                                                  "Adam([logits], ...)), and be stepped: optimiser.zero_grad(), "
                                                  "loss.backward(), optimiser.step(), in this order", start),
                        ("descends the objective instead of climbing it", "an optimiser minimises: the loss is "
                         "penalty(walls) - dream_objective(...), the objective's negative",
                         ascend(*arguments, sign=-1.0)),
                        ("adds the objective to the penalty, and so descends it", "the loss is penalty(walls) - "
                         "dream_objective(...): minimising it climbs the objective, and + would descend it",
                         ascend(*arguments, objective_sign=-1.0)),
                        ("no gradient came through the network: only the penalty moved the walls",
                         "the dream climbs the objective's gradient through the network into the walls: no "
                         "torch.no_grad(), .detach() or .item() around q_net(...), q_values_at or dream_objective (the "
                         "network stays as it is anyway: only the logits are in the optimiser)",
                         ascend(*arguments, through_network=False)),
                        ("a new optimiser at every step", "make the optimiser once, before the loop: Adam's steps "
                         "depend on the running averages of the gradients it has seen, which a new one forgets",
                         ascend(*arguments, new_optimiser_each_step=True)),
                        ("gradients pile up across steps: optimiser.zero_grad() is missing",
                         "call optimiser.zero_grad() before every loss.backward()",
                         ascend(*arguments, zero_grad=False)),
                        ("the penalty is left out", "the loss is penalty(walls) - dream_objective(...): without the "
                                                    "penalty, walls appear everywhere",
                         ascend(*arguments[:5], lambda walls: 0.0 * walls.sum((1, 2)), config)),
                        ("one step short: the walls from before the last step", "either the loop takes one step too "
                         "few (range(config.steps), not config.steps - 1), or it returns the walls built in the loop "
                         "before the last optimiser.step(): after the loop, build the walls once more from the final "
                         "logits", ascend(*arguments, last_step=False)),
                        ("the network sees the logits, not the walls", "the wall plane is the wall strengths, "
                         "with_wall_plane(planes, walls) with walls = dream_walls(logits, ...): the network was "
                         "trained on walls between 0 and 1, and the fixed cells must stay as they are",
                         ascend(*arguments, network_sees_logits=True)),
                        ("ignores the config", "use config.steps and config.learning_rate, not numbers of your own",
                         ascend(*arguments[:6], reference.DreamConfig())),
                        ("plain SGD instead of Adam", "torch.optim.Adam([logits], lr=config.learning_rate)",
                         ascend(*arguments, optimiser=torch.optim.SGD))])


def protrusion_cases():
    """(description, maze): hand-made mazes with known protrusions, then training and moved-wall mazes."""
    moved_tip = reference.maze_from_text("""
        ....C
        .###.
        .....
        .##..
        C...E
        """)
    border_stub = reference.maze_from_text("""
        ..#..
        .....
        .###.
        .....
        H...E
        """)
    # Posts standing alone, and a block at (2, 2) that touches no other wall: none of them sticks out.
    lone_blocks = reference.maze_from_text("""
        .....
        .#.#.
        ..#..
        .#.#.
        ....E
        """)
    rng = random.Random(22)
    return [("a 5x5 maze whose middle wall ends one block short of a post (row 3)", moved_tip),
            ("a 5x5 maze with a one-block wall on the top border (row 0, column 2)", border_stub),
            ("a 5x5 maze with lone posts and a lone block at (2, 2)", lone_blocks),
            ("training maze make_training_maze(22, width=7)", reference.make_training_maze(22, 7)),
            *((f"a 7x7 maze with one wall moved by one block (seed {seed})", reference.make_blind_spot_maze(rng, 7))
              for seed in range(3)),
            ("training maze make_training_maze(0, width=9), with posts in row and column 7",
             reference.make_training_maze(0, 9))]


# (problem, hint, the arguments of protrusions_by_rule that make this mistake)
PROTRUSION_MISTAKES = (
    ("rows and columns are swapped", "nonzero() gives (row, col) pairs already", dict(transposed=True)),
    ("posts are counted too", "a wall ending on a post (odd row and odd column) is a normal two-block wall end: "
                              "leave posts out", dict(leave_out_posts=False)),
    ("the border does not count as wall", "pad with value=1: a wall against the border is attached to it",
     dict(border_is_wall=False)),
    ("diagonal neighbours are counted too", "only the 4 neighbours up, down, left and right: a wall that touches "
                                            "another only at a corner is not attached to it", dict(diagonals=True)),
    ("open cells are listed too", "only wall cells stick out: keep (maze == WALL) in the condition",
     dict(walls_only=False)),
    ("walls with no wall neighbour at all are listed too", "exactly one wall neighbour (== 1, not <= 1): a block "
                                                           "that touches no other wall does not end a wall",
     dict(at_most_one=True)),
)


@exercise("single_block_protrusions")
def check_single_block_protrusions(single_block_protrusions):
    """Three hand-made 5x5 mazes, a training maze, three 7x7 mazes with a wall moved by one block, and a 9x9
    training maze."""
    cases = [(f"{on}:{maze_text(maze)}", maze) for on, maze in protrusion_cases()]
    answers = [sorted(as_cells(call(single_block_protrusions, {"maze": maze}, on), on,
                               reference.single_block_protrusions(maze),
                               "return a Python list, as (...).nonzero().tolist() gives: edit_kind asks `if "
                               "single_block_protrusions(maze):`, which a tensor of several cells cannot answer"))
               for on, maze in cases]
    for (on, maze), got in zip(cases, answers):
        expected = sorted(tuple(cell) for cell in reference.single_block_protrusions(maze))
        if got == expected:
            continue
        # A mistake is named only if it gives exactly the learner's answer on every maze, and no other does.
        mistake = the_mistake(PROTRUSION_MISTAKES, lambda rule: all(
            answer == protrusions_by_rule(case_maze, **rule) for answer, (_, case_maze) in zip(answers, cases)))
        if mistake:
            raise Diagnosis(mistake[0], on=on, expected=show(expected), got=show(got), hint=mistake[1])
        extra = [cell for cell in got if cell not in expected]
        missed = [cell for cell in expected if cell not in got]
        posts = [cell for cell in extra if cell[0] % 2 == 1 and cell[1] % 2 == 1]
        if posts:
            raise Diagnosis(f"listed the post at {posts[0]}", on=on, expected=show(expected), got=show(got),
                            hint="a post is any cell with an odd row and an odd column, whatever the maze's width: "
                                 "(row % 2 == 1) & (col % 2 == 1)")
        raise Diagnosis(f"listed {extra[0]}, which does not stick out by a single block" if extra else
                        f"missed {missed[0]}, which sticks out by a single block", on=on, expected=show(expected),
                        got=show(got), hint="wall cells with exactly one wall neighbour (up, down, left, right; the "
                                            "border is wall) that are not posts")


def protrusions_by_rule(maze, border_is_wall=True, leave_out_posts=True, diagonals=False, walls_only=True,
                        transposed=False, at_most_one=False):
    """The sorted protrusions under a (possibly mistaken) rule, to recognise the usual mistakes by their output."""
    width = maze.shape[0]
    walls = F.pad((maze == WALL).int(), (1, 1, 1, 1), value=int(border_is_wall))
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)] + ([(-1, -1), (-1, 1), (1, -1), (1, 1)] if diagonals else [])
    count = sum(walls[1 + d_row:1 + d_row + width, 1 + d_col:1 + d_col + width] for d_row, d_col in steps)
    odd = torch.arange(width) % 2 == 1
    posts = odd[:, None] & odd[None, :]
    ends = (count <= 1) if at_most_one else (count == 1)
    cells = ends & ((maze == WALL) if walls_only else True) & (~posts if leave_out_posts else True)
    return sorted((col, row) if transposed else (row, col) for row, col in cells.nonzero().tolist())


def truth_value(got):
    """True or False for an answer that means one (a bool, 0 or 1, numpy's or torch's), else None."""
    if isinstance(got, torch.Tensor):
        return bool(got) if got.numel() == 1 and not got.is_floating_point() and got.item() in (0, 1) else None
    if isinstance(got, bool) or type(got).__name__ == "bool_":  # numpy's bool
        return bool(got)
    return bool(got) if isinstance(got, int) and got in (0, 1) else None


@exercise("move_wall_tip")
def check_move_wall_tip(move_wall_tip):
    """Freshly carved 5x5 and 7x7 grids with seeded random.Random, and an all-wall grid (no tips)."""
    cases = [(f"carve_passages({width}, random.Random({seed})), then random.Random({seed + 100})", width, seed)
             for width, seed in ((5, 23), (7, 24), (7, 25))]
    pick_hint = ("pick the (tip, wall_neighbour) pair with rng.choice(wall_tips(grid)), once, with the rng passed "
                 "in: shuffling, sampling or the random module pick another")
    earlier = []  # the grids of the cases before
    for on, width, seed in cases:
        grid = reference.carve_passages(width, random.Random(seed))
        expected_grid = [row[:] for row in grid]
        expected_rng, rng = random.Random(seed + 100), random.Random(seed + 100)
        reference.move_wall_tip(expected_grid, expected_rng)  # moves a tip: these grids all have some
        learner_grid = [row[:] for row in grid]
        on = on + maze_text(grid)
        got = call(move_wall_tip, {"grid": learner_grid, "rng": rng}, on, may_change=("grid", "rng"),
                   random_hint=pick_hint)
        if truth_value(got) is not True:
            raise Diagnosis(f"returned {shorten(repr(got))}, expected True", on=on, hint=(
                "change the grid in place and return True: make_blind_spot_maze asks `if move_wall_tip(grid, rng):` "
                "and goes on with its own grid" if isinstance(got, list) else
                "return True once a tip has moved: make_blind_spot_maze asks `if move_wall_tip(grid, rng):`"))
        if learner_grid == grid:
            raise Diagnosis("returned True, but the grid is unchanged", on=on,
                            hint="write into `grid` itself, not a copy, and mind the codes: the tip becomes EMPTY and "
                                 "the cell beyond it WALL (the other way round, both cells keep what they were)")
        if learner_grid != expected_grid:
            raise_if_an_earlier_grids_tip(grid, learner_grid, seed, earlier, on, expected_grid)
            picked = random.Random(seed + 100).choice(reference.wall_tips(grid))[0]
            moved = [tip for tip, wall in reference.wall_tips(grid) if learner_grid == moved_tip(grid, tip, wall)]
            if moved:
                raise Diagnosis(f"moved the tip at {moved[0]}, but rng.choice(wall_tips(grid)) picks the tip at "
                                f"{picked}", on=on, expected=maze_text(expected_grid), got=maze_text(learner_grid),
                                hint=pick_hint)
            changed = {(r, c) for r in range(width) for c in range(width) if learner_grid[r][c] != grid[r][c]}
            meant = {(r, c) for r in range(width) for c in range(width) if expected_grid[r][c] != grid[r][c]}
            if changed == meant:
                codes = ", ".join(f"{cell} became {CODE_NAMES.get(learner_grid[cell[0]][cell[1]], 'an unknown code')}"
                                  for cell in sorted(changed))
                raise Diagnosis(f"the right cells changed, to the wrong codes: {codes}", on=on,
                                expected=maze_text(expected_grid), got=maze_text(learner_grid),
                                hint="the tip becomes EMPTY (an open cell, no item) and the cell beyond it WALL")
            if rng.getstate() != expected_rng.getstate():
                raise Diagnosis("the wrong cells changed, and the random draws differ from one "
                                "rng.choice(wall_tips(grid))", on=on, expected=maze_text(expected_grid),
                                got=maze_text(learner_grid), hint=pick_hint + "; take the tip and its wall neighbour "
                                                                              "from that one pair")
            tip, wall = random.Random(seed + 100).choice(reference.wall_tips(grid))
            if changed == {tip}:  # shutting the wall neighbour, already a wall, changes nothing either
                raise Diagnosis(f"opened the tip at {tip} and shut nothing", on=on, expected=maze_text(expected_grid),
                                got=maze_text(learner_grid),
                                hint="also shut the cell on the tip's far side, away from its wall neighbour: "
                                     "(2 * tip_row - wall_row, 2 * tip_col - wall_col); the wall moves, it does not "
                                     "shrink")
            raise Diagnosis("the wrong cells changed", on=on, expected=maze_text(expected_grid),
                            got=maze_text(learner_grid),
                            hint="open the tip (the post) and shut the cell on its far side, away from its wall "
                                 "neighbour: (2 * tip_row - wall_row, 2 * tip_col - wall_col)")
        earlier.append(grid)
        if rng.getstate() != expected_rng.getstate():
            raise Diagnosis("drew random numbers differently from the reference", on=on,
                            hint="draw once: rng.choice(wall_tips(grid)), with the rng passed in; the maze generator "
                                 "goes on drawing from the same rng after you")
    solid = [[WALL] * 5 for _ in range(5)]
    got = call(move_wall_tip, {"grid": solid, "rng": random.Random(0)}, "an all-wall 5x5 grid (no wall tips)",
               may_change=("rng",), random_hint=pick_hint)
    if truth_value(got) is not False:
        raise Diagnosis(f"returned {shorten(repr(got))} for a grid with no wall tips, expected False",
                        on="an all-wall 5x5 grid", hint="if wall_tips(grid) is empty, return False")


def raise_if_an_earlier_grids_tip(grid, learner_grid, seed, earlier, on, expected_grid):
    """A Diagnosis if the learner's grid is `grid` with a tip moved that rng.choice picks among the tips of one of the
    `earlier` grids: tips remembered from a call before."""
    for other in earlier:
        tip, wall = random.Random(seed + 100).choice(reference.wall_tips(other))
        try:
            stale = moved_tip(grid, tip, wall)
        except IndexError:  # a tip of a wider grid
            continue
        if learner_grid == stale:
            raise Diagnosis(f"moved the tip at {tip}, a tip of an earlier grid: the tips are remembered from a call "
                            f"before", on=on, expected=maze_text(expected_grid), got=maze_text(learner_grid),
                            hint="find the tips of the grid passed in, wall_tips(grid), at every call: every call "
                                 "gets another grid, so nothing may be kept from one call to the next (no cache or "
                                 "global list of tips)")


def moved_tip(grid, tip, wall):
    """A copy of `grid` with `tip` opened and the cell on the far side of `tip` from `wall` shut."""
    moved = [row[:] for row in grid]
    moved[tip[0]][tip[1]] = EMPTY
    moved[2 * tip[0] - wall[0]][2 * tip[1] - wall[1]] = WALL
    return moved


# ---------------------------------------------------------------------------------------------
# Grading a whole file


@dataclass
class Cell:
    """One cell of a learner's script or notebook."""

    source: str  # its code; a script's cell is padded with blank lines, so that line numbers stay the file's
    filename: str  # the name its code runs under, as tracebacks show it
    description: str  # how to find it: its number or line, and its first line
    defines: list  # the functions it defines at the top level, read from its text (so even if it does not compile)


def learner_cells(path):
    """The code cells of a notebook, or of a percent-format script (cells start at `# %%` lines)."""
    if path.endswith(".ipynb"):
        import nbformat  # only a notebook needs it

        cells = []
        for number, cell in enumerate(nbformat.read(path, as_version=4).cells, 1):
            if cell.cell_type != "code" or cell.source.lstrip().startswith("%%"):  # a cell magic is not Python
                continue
            # Line magics and shell escapes (%cd, !git clone on Colab) are IPython's: leave them out, as jupytext does.
            source = "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line
                               for line in cell.source.splitlines())
            filename = f"{path}, cell {number}"
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # for tracebacks
            LEARNER_CELLS.add(filename)
            cells.append(Cell(source, filename, f"cell {number} ({first_line(source)})", defined_functions(source)))
        return cells
    with open(path) as file:
        lines = file.read().splitlines(keepends=True)
    starts = [0] + [index for index, line in enumerate(lines) if index and line.startswith("# %%")]
    cells = []
    for start, end in zip(starts, starts[1:] + [len(lines)]):
        source = "".join(lines[start:end])
        cells.append(Cell("\n" * start + source, path, f"the cell at line {start + 1} ({first_line(source)})",
                          defined_functions(source)))
    return cells


def first_line(source):
    line = next((line.strip() for line in source.splitlines() if line.strip() and not line.startswith("# %%")), "")
    return shorten(line, 70)


def defined_functions(source):
    return re.findall(r"^def (\w+)\(", source, re.MULTILINE)


def cell_error(error, cell):
    """What went wrong in a cell that does not run, with the line (of the file, or of the notebook cell)."""
    if isinstance(error, SyntaxError):
        text = f": {error.text.strip()}" if error.text and error.text.strip() else ""
        return f"{type(error).__name__} at line {error.lineno}: {error.msg}{text}"
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == cell.filename]
    at = f" at line {frames[-1].lineno}" if frames else ""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}{at}: {shorten(message)}"


def load_learner_module(path):
    """Run the learner's script or notebook as a module, cell by cell, without its walk-through (MAIN is
    False there). A cell that does not run is skipped and listed in the module's __broken_cells__ as
    (Cell, what went wrong): one broken cell never hides the exercises of the others."""
    name = "graded_" + os.path.splitext(os.path.basename(path))[0]
    module = types.ModuleType(name)
    module.__file__ = path
    module.__broken_cells__ = []
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    for cell in learner_cells(path):
        try:
            with time_limit(CHECK_TIME_LIMIT_S):
                exec(compile(cell.source, cell.filename, "exec"), module.__dict__)
        except (Exception, SystemExit, TooSlow) as error:
            module.__broken_cells__.append((cell, cell_error(error, cell)))
    return module


def grade(module):
    """[(exercise, status, reason)]: status is 'passed', 'failed' or 'not yet'."""
    rows = []
    for name, check in CHECKS.items():
        function = getattr(module, name, None)
        if function is None:
            broken = [f"{cell.description} does not run: {error}" for cell, error in module.__broken_cells__
                      if name in cell.defines]
            rows.append((name, "failed", broken[0] if broken else f"no function named {name}"))
            continue
        if function is getattr(reference, name):
            rows.append((name, "not yet", "uses the reference version (use_reference)"))
            continue
        try:
            diagnosis = diagnose(check.find_problem, function, check.uses)
        except NotImplementedError as error:
            blocker = blank_exercise(error)
            rows.append((name, "not yet", "" if blocker == name else f"waits for {blocker}"))
            continue
        if diagnosis is None:
            rows.append((name, "passed", ""))
        else:  # where the learner's code raised or got stuck, so that the table alone leads to the line
            rows.append((name, "failed", diagnosis.problem + (f" (at {diagnosis.where})" if diagnosis.where else "")))
    return rows


def main(path):
    if not os.path.exists(path):
        sys.exit(f"no file {path}: pass the path of your exercises file (.py or .ipynb)")
    torch.set_num_threads(1)  # the checks use tiny tensors; more threads only spin
    module = load_learner_module(path)
    rows = grade(module)
    width = max(len(name) for name in CHECKS) + 2
    print(f"Grading {os.path.relpath(path)} against solutions.py\n")
    print(f"{'exercise':<{width}}result")
    for name, status, reason in rows:
        print(f"{name:<{width}}{status}{': ' + reason if reason else ''}")
    counts = {status: sum(row[1] == status for row in rows) for status in ("passed", "failed", "not yet")}
    print(f"\n{counts['passed']} of {len(rows)} passed, {counts['failed']} failed, {counts['not yet']} not yet")
    if module.__broken_cells__:
        print("\nCells that do not run (what they define is missing above):")
        for cell, error in module.__broken_cells__:
            print(f"  {cell.description}: {error}")
    print("Run the check cell after an exercise for the full diagnosis (input, expected, got, hint).")
    return 0 if counts["passed"] == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                      "exercises.py")))
