"""fedcb: the contextual-bandit agent of libfedcb, from Python.

A thin ctypes layer over the C API of include/fedcb/agent.h; the standard
library only, and numpy arrays are accepted when numpy is there.

    import fedcb
    with fedcb.Agent(input_dim=5, num_actions=3, store_path="agent.db") as agent:
        d = agent.decide([0.1, 0.2, 0.3, 0.4, 0.5])
        agent.feedback(d.event_id, 1.0)

Agent(**options) takes the fields of fcb_agent_options as keywords
(input_dim, num_actions, policy, store_path, coordinator, tls_dir,
client_id, quiet, ...; fedcb.default_options() lists them with their
defaults); what is not given keeps the default of
fcb_agent_options_default. Agent.from_ini(path) reads an [agent] INI file.
Every call that fails in C raises fedcb.Error(status, message): status is
the name of the fcb_status ("invalid argument", ...), message the
fcb_last_error() of that call, code the fedcb.Status value.

The library. The first call that needs libfedcb loads it, the first of:
  1. fedcb.load(path), called by the program beforehand;
  2. the file named by the environment variable FEDCB_LIBRARY;
  3. libfedcb.so.0.2 two directories above this file: the prefix's lib/
     when cmake --install put this file in lib/python3/dist-packages;
  4. "libfedcb.so.0.2" through the dynamic loader (LD_LIBRARY_PATH,
     ld.so.cache, /lib, /usr/lib: an install into /usr);
  5. ctypes.util.find_library("fedcb").
Steps 1 and 2 are final: if that file does not load, nothing else is
tried. The library must be version 0.2.x, the ABI this module mirrors.
cmake --install puts this file in PREFIX/lib/python3/dist-packages, which
Debian's python3 searches for the prefix /usr; for another prefix, add
that directory to PYTHONPATH.

A libfedcb built with FEDCB_SANITIZE=ON needs the sanitizer runtimes loaded
first, e.g. LD_PRELOAD="$(gcc -print-file-name=libasan.so)
$(gcc -print-file-name=libubsan.so)" and ASAN_OPTIONS=detect_leaks=0
(python itself does not free everything at exit).

Threads: decide, feedback, stats and the properties may be called from any
number of threads at once (the GIL is released during the C call).
close waits for the calls in progress and makes later ones raise
fedcb.Error("invalid state", ...); an agent never closed is closed when it
is garbage-collected or at exit.
"""

import collections
import collections.abc
import ctypes
import ctypes.util
import enum
import numbers
import os
import sys
import threading
import weakref

__all__ = ["Agent", "Decision", "Error", "Status", "default_options", "load", "version"]

# The ABI mirrored below: libfedcb 0.2.x (before 1.0 a minor release may
# change it; the soname carries the minor version).
ABI_VERSION = (0, 2)
SONAME = "libfedcb.so.%d.%d" % ABI_VERSION


class Status(enum.IntEnum):
    """fcb_status (include/fedcb/status.h)."""

    OK = 0
    ERR_ARG = 1
    ERR_NOMEM = 2
    ERR_IO = 3
    ERR_FORMAT = 4
    ERR_NUMERIC = 5
    ERR_CONFIG = 6
    ERR_STATE = 7


class Error(Exception):
    """A failed fedcb call: Error(status, message), e.g.
    Error("invalid argument", "context of 4 values, expected 5").
    Attributes: status (the status name), message, code (a Status)."""

    def __init__(self, status, message, code=None):
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.code = code

    def __str__(self):
        return "%s: %s" % (self.status, self.message) if self.message else self.status


# ---- the C structs, field for field (include/fedcb/agent.h)

class _Options(ctypes.Structure):
    _fields_ = [
        ("input_dim", ctypes.c_int),
        ("num_actions", ctypes.c_int),
        ("arch", ctypes.c_char_p),
        ("hidden", ctypes.c_int),
        ("policy", ctypes.c_char_p),
        ("epsilon", ctypes.c_float),
        ("temperature", ctypes.c_float),
        ("igw_gamma", ctypes.c_float),
        ("seed", ctypes.c_uint64),
        ("learn_every", ctypes.c_int),
        ("learning_rate", ctypes.c_float),
        ("local_epochs", ctypes.c_int),
        ("batch_size", ctypes.c_int),
        ("loss", ctypes.c_char_p),
        ("hash_seed", ctypes.c_uint32),
        ("feedback_window", ctypes.c_double),
        ("pending_capacity", ctypes.c_int),
        ("store_path", ctypes.c_char_p),
        ("store_max_rows", ctypes.c_long),
        ("store_max_age", ctypes.c_double),
        ("store_queue", ctypes.c_int),
        ("store_sync_full", ctypes.c_int),
        ("coordinator", ctypes.c_char_p),
        ("tls_dir", ctypes.c_char_p),
        ("insecure", ctypes.c_int),
        ("client_id", ctypes.c_int),
        ("min_round_events", ctypes.c_int),
        ("round_wait", ctypes.c_double),
        ("give_up", ctypes.c_double),
        ("quiet", ctypes.c_int),
    ]


class _Decision(ctypes.Structure):
    _fields_ = [
        ("action", ctypes.c_int),
        ("propensity", ctypes.c_float),
        ("event_id", ctypes.c_uint64),
        ("model_version", ctypes.c_int64),
    ]


class _Stats(ctypes.Structure):
    _fields_ = [
        ("model_version", ctypes.c_int64),
        ("decisions", ctypes.c_uint64),
        ("feedback", ctypes.c_uint64),
        ("expired", ctypes.c_uint64),
        ("rounds", ctypes.c_uint64),
        ("store_waits", ctypes.c_uint64),
        ("federated", ctypes.c_int),
        ("learner_running", ctypes.c_int),
    ]


# The sizes the header implies on LP64 (x86-64, aarch64); tests/python
# compares every field's offset, size and kind with the C compiler's.
if ctypes.sizeof(ctypes.c_void_p) == 8 and ctypes.sizeof(ctypes.c_long) == 8:
    for _struct, _size in ((_Options, 192), (_Decision, 24), (_Stats, 56)):
        if ctypes.sizeof(_struct) != _size:
            raise ImportError("fedcb: ctypes %s is %d bytes, the C struct %d" % (_struct.__name__, ctypes.sizeof(_struct), _size))

Decision = collections.namedtuple("Decision", "action propensity event_id model_version")
Decision.__doc__ = "One decision: action in [0, num_actions), its propensity, the event id for feedback, the model version."

_OPTION_TYPES = dict(_Options._fields_)
_UNSIGNED = (ctypes.c_uint32, ctypes.c_uint64)
_FLOATS = (ctypes.c_float, ctypes.c_double)
_FloatPointer = ctypes.POINTER(ctypes.c_float)


# ---- the library

_lock = threading.Lock()
_lib = None
_lib_path = None


def _bind(lib):
    """Declares the signatures; status-returning calls raise Error, reading
    fcb_last_error right after the call, on the thread that made it."""
    c_int, c_char_p, c_void_p, c_float = ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_float
    lib.fcb_version.argtypes = []
    lib.fcb_version.restype = c_char_p
    lib.fcb_last_error.argtypes = []
    lib.fcb_last_error.restype = c_char_p
    lib.fcb_status_name.argtypes = [c_int]
    lib.fcb_status_name.restype = c_char_p

    def errcheck(status, func, args):
        if status != 0:
            message = lib.fcb_last_error()
            name = lib.fcb_status_name(status)
            try:
                code = Status(status)
            except ValueError:
                code = status
            raise Error(name.decode("utf-8", "replace"), message.decode("utf-8", "replace"), code)
        return status

    def status_call(name, argtypes):
        f = getattr(lib, name)
        f.argtypes = argtypes
        f.restype = c_int
        f.errcheck = errcheck

    lib.fcb_agent_options_default.argtypes = [ctypes.POINTER(_Options)]
    lib.fcb_agent_options_default.restype = None
    status_call("fcb_agent_open", [ctypes.POINTER(_Options), ctypes.POINTER(c_void_p)])
    status_call("fcb_agent_open_ini", [c_char_p, ctypes.POINTER(c_void_p)])
    status_call("fcb_agent_decide", [c_void_p, _FloatPointer, c_int, ctypes.POINTER(_Decision)])
    status_call("fcb_agent_decide_features", [c_void_p, c_char_p, ctypes.POINTER(_Decision)])
    status_call("fcb_agent_feedback", [c_void_p, ctypes.c_uint64, c_float])
    status_call("fcb_agent_flush", [c_void_p])
    status_call("fcb_agent_close", [c_void_p])
    status_call("fcb_agent_stats_get", [c_void_p, ctypes.POINTER(_Stats)])
    for name in ("fcb_agent_input_dim", "fcb_agent_num_actions"):
        getattr(lib, name).argtypes = [c_void_p]
        getattr(lib, name).restype = c_int
    lib.fcb_agent_model_version.argtypes = [c_void_p]
    lib.fcb_agent_model_version.restype = ctypes.c_int64
    lib.fcb_agent_learner_error.argtypes = [c_void_p]
    lib.fcb_agent_learner_error.restype = c_char_p


def _open_library(path):
    lib = ctypes.CDLL(path)
    try:
        _bind(lib)
    except AttributeError as e:  # a symbol of the API is missing
        raise OSError("%s is not libfedcb: %s" % (path, e)) from None
    found = lib.fcb_version().decode()
    parts = found.split(".")
    if tuple(int(p) for p in parts[:2] if p.isdigit()) != ABI_VERSION:
        raise OSError("%s is libfedcb %s; this module needs %d.%d.x" % (path, found, *ABI_VERSION))
    return lib


def load(path=None):
    """Loads libfedcb for the agents opened from now on and returns the
    path or name it was loaded from. With a path: that file. Without one:
    the one already loaded, else the search of the module docstring."""
    with _lock:
        if path is None and _lib is not None:
            return _lib_path
        if path is not None:
            return _load_from([os.fspath(path)], "libfedcb from %s" % os.fspath(path))
        if os.environ.get("FEDCB_LIBRARY"):
            given = os.environ["FEDCB_LIBRARY"]
            return _load_from([given], "libfedcb from FEDCB_LIBRARY=%s" % given)
        here = os.path.dirname(os.path.abspath(__file__))
        beside = os.path.normpath(os.path.join(here, os.pardir, os.pardir, SONAME))

        def search():
            if os.path.exists(beside):
                yield beside
            yield SONAME
            found = ctypes.util.find_library("fedcb")
            if found:
                yield found

        return _load_from(search(), "libfedcb (set FEDCB_LIBRARY or call fedcb.load(path))")


def _load_from(candidates, what):
    """Loads the first of candidates that is a usable libfedcb (under _lock)."""
    global _lib, _lib_path
    failures = []
    for candidate in candidates:
        try:
            lib = _open_library(candidate)
        except OSError as e:
            failures.append(str(e))
            continue
        _lib, _lib_path = lib, candidate
        return candidate
    raise OSError("fedcb: cannot load %s: %s" % (what, "; ".join(failures)))


def _library():
    lib = _lib
    if lib is None:
        load()
        lib = _lib
    return lib


def version():
    """The version of the loaded libfedcb, e.g. "0.2.0"."""
    return _library().fcb_version().decode()


def _option_value(name, ctype, value):
    if ctype is ctypes.c_char_p:
        if value is None:
            return None
        if not isinstance(value, (str, bytes, os.PathLike)):
            raise TypeError("fedcb option %s must be a str, bytes, path or None, not %s" % (name, type(value).__name__))
        encoded = os.fsencode(value)
        if b"\0" in encoded:
            raise ValueError("fedcb option %s contains a NUL character" % name)
        return encoded
    if ctype in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError("fedcb option %s must be a number, not %s" % (name, type(value).__name__))
        return float(value)
    if not isinstance(value, numbers.Integral):
        raise TypeError("fedcb option %s must be an integer, not %s" % (name, type(value).__name__))
    value = int(value)
    bits = 8 * ctypes.sizeof(ctype)
    low, high = (0, (1 << bits) - 1) if ctype in _UNSIGNED else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    if not low <= value <= high:
        raise ValueError("fedcb option %s = %d is out of range [%d, %d]" % (name, value, low, high))
    return value


def _options_dict(options):
    out = {}
    for name, ctype in _Options._fields_:
        value = getattr(options, name)
        out[name] = value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value
    return out


def default_options():
    """The options of fcb_agent_options_default, as a dict (str for strings)."""
    options = _Options()
    _library().fcb_agent_options_default(ctypes.byref(options))
    return _options_dict(options)


def _c_context(context):
    """(pointer to float, count) for a context; no copy for a contiguous
    float32 numpy array or an array.array('f'). The pointer object keeps
    the memory it points to alive."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(context, np.ndarray):
        if context.ndim != 1:
            raise ValueError("fedcb: a context is a 1-D array, not of shape %s" % (context.shape,))
        if context.dtype.kind not in "fiub":
            raise TypeError("fedcb: a context of dtype %s is not real numbers" % context.dtype)
        a = np.ascontiguousarray(context, dtype=np.float32)  # the same array if already so
        return a.ctypes.data_as(_FloatPointer), a.shape[0]
    try:
        view = memoryview(context)
    except TypeError:
        view = None
    if view is not None and view.format == "f" and view.ndim == 1 and view.c_contiguous:
        n = view.shape[0]
        if view.readonly:
            c = (ctypes.c_float * n).from_buffer_copy(view)
        else:
            c = (ctypes.c_float * n).from_buffer(view)
        return c, n
    if not isinstance(context, collections.abc.Sized):
        context = tuple(context)
    n = len(context)
    c = (ctypes.c_float * n)(*context)
    return c, n


class _Gate:
    """The open agent's handle and the calls in progress on it: close
    waits for them, and later calls raise Error (the C agent is freed)."""

    __slots__ = ("lock", "idle", "calls", "handle", "serial")

    def __init__(self, handle):
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.calls = 0
        self.handle = handle
        self.serial = threading.Lock()  # flush and close: never two at once

    def enter(self):
        with self.lock:
            if self.handle is None:
                raise Error("invalid state", "the fedcb agent is closed", Status.ERR_STATE)
            self.calls += 1
            return self.handle

    def leave(self):
        with self.lock:
            self.calls -= 1
            if self.calls == 0:
                self.idle.notify_all()

    def take(self):
        """The handle to close once no call is in progress; None if closed."""
        with self.lock:
            handle, self.handle = self.handle, None
            while self.calls:
                self.idle.wait()
            return handle


def _close_gate(lib, gate):
    """Closes the agent of gate (close(), garbage collection, exit); returns
    the Error of fcb_agent_close or None."""
    with gate.serial:
        handle = gate.take()
        if handle is None:
            return None
        try:
            lib.fcb_agent_close(handle)
        except Error as e:
            return e
    return None


class Agent:
    """A contextual-bandit agent (fcb_agent). Agent(**options) opens one with
    the given fields of fcb_agent_options; Agent.from_ini(path) from a file."""

    def __init__(self, **options):
        lib = _library()
        opts = _Options()
        lib.fcb_agent_options_default(ctypes.byref(opts))
        for name, value in options.items():
            ctype = _OPTION_TYPES.get(name)
            if ctype is None:
                raise TypeError("Agent() got an unexpected keyword argument '%s'" % name)
            setattr(opts, name, _option_value(name, ctype, value))
        handle = ctypes.c_void_p()
        lib.fcb_agent_open(ctypes.byref(opts), ctypes.byref(handle))
        self._start(lib, handle.value)

    @classmethod
    def from_ini(cls, path):
        """Opens an agent from the [agent] section of an INI file."""
        lib = _library()
        encoded = os.fsencode(path)
        if b"\0" in encoded:
            raise ValueError("fedcb: the INI path contains a NUL character")
        handle = ctypes.c_void_p()
        lib.fcb_agent_open_ini(encoded, ctypes.byref(handle))
        agent = cls.__new__(cls)
        agent._start(lib, handle.value)
        return agent

    def _start(self, lib, handle):
        self._lib = lib
        self._gate = _Gate(handle)
        self._finalizer = weakref.finalize(self, _close_gate, lib, self._gate)

    # ---- decisions and feedback

    def decide(self, context):
        """One decision for a dense context of input_dim floats: a sequence,
        an array.array or a 1-D numpy array. Returns a Decision."""
        pointer, n = _c_context(context)
        out = _Decision()
        handle = self._gate.enter()
        try:
            self._lib.fcb_agent_decide(handle, pointer, n, ctypes.byref(out))
        finally:
            self._gate.leave()
        return Decision(out.action, out.propensity, out.event_id, out.model_version)

    def decide_features(self, features):
        """One decision for named features, "user=42 hour=13 price:0.7"."""
        if isinstance(features, str):
            encoded = features.encode("utf-8")
        elif isinstance(features, bytes):
            encoded = features
        else:
            raise TypeError("fedcb: features are a str, not %s" % type(features).__name__)
        if b"\0" in encoded:
            raise ValueError("fedcb: features contain a NUL character")
        out = _Decision()
        handle = self._gate.enter()
        try:
            self._lib.fcb_agent_decide_features(handle, encoded, ctypes.byref(out))
        finally:
            self._gate.leave()
        return Decision(out.action, out.propensity, out.event_id, out.model_version)

    def feedback(self, event_id, reward):
        """The reward of an event; raises Error if the event was never issued,
        already has feedback or is past its feedback window."""
        if not isinstance(event_id, numbers.Integral) or not 0 <= event_id < 1 << 64:
            raise ValueError("fedcb: event id %r is not an unsigned 64-bit integer" % (event_id,))
        reward = float(reward)
        handle = self._gate.enter()
        try:
            self._lib.fcb_agent_feedback(handle, int(event_id), reward)
        finally:
            self._gate.leave()

    def flush(self):
        """Waits until every decision and feedback so far is in the store."""
        with self._gate.serial:
            handle = self._gate.enter()
            try:
                self._lib.fcb_agent_flush(handle)
            finally:
                self._gate.leave()

    def close(self):
        """Flushes, stops the learner and frees the agent; a second close
        does nothing. Raises the error of fcb_agent_close: the store's, or
        the learner's if it had stopped on one (learner_error)."""
        error = self._finalizer()
        if error is not None:
            raise error

    @property
    def closed(self):
        return self._gate.handle is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- queries

    def _query(self, function, *args):
        handle = self._gate.enter()
        try:
            return function(handle, *args)
        finally:
            self._gate.leave()

    def stats(self):
        """What the agent has done since open, as a dict: model_version,
        decisions, feedback, expired, rounds, store_waits, federated,
        learner_running."""
        s = _Stats()
        self._query(self._lib.fcb_agent_stats_get, ctypes.byref(s))
        out = {name: getattr(s, name) for name, _ in _Stats._fields_}
        out["federated"] = bool(out["federated"])
        out["learner_running"] = bool(out["learner_running"])
        return out

    @property
    def model_version(self):
        """The version of the model decide uses now."""
        return self._query(self._lib.fcb_agent_model_version)

    @property
    def input_dim(self):
        return self._query(self._lib.fcb_agent_input_dim)

    @property
    def num_actions(self):
        return self._query(self._lib.fcb_agent_num_actions)

    @property
    def learner_error(self):
        """Why the learner stopped, "" if it did not stop on an error."""
        return self._query(self._lib.fcb_agent_learner_error).decode("utf-8", "replace")

    def __repr__(self):
        if self.closed:
            return "<fedcb.Agent closed>"
        return "<fedcb.Agent input_dim=%d num_actions=%d model_version=%d>" % (
            self.input_dim, self.num_actions, self.model_version)
