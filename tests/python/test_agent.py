"""The Python module client/python/fedcb.py over a build's libfedcb.so
(tests/cli_python.sh runs this file with FEDCB_LIBRARY set to it).

Covers: the ctypes structs against the C compiler's layout of the header,
the version, the policies' closed-form propensities, every kind of context
(list, array.array, numpy float32 without a copy, numpy float64), the C
messages of refusals, local learning, resuming from a store, INI files and
concurrent calls. Standard library only; the numpy cases are skipped (and
say so) when numpy is not importable.

Environment: FEDCB_LIBRARY (the libfedcb.so under test), FEDCB_CC (the C
compiler of the build, for the layout probe; default cc)."""

import array
import ctypes
import os
import pathlib
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import fedcb

try:
    import numpy as np
except ImportError:
    np = None

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
INCLUDE_DIR = SOURCE_DIR / "include"
D, K = 5, 5
NO_NUMPY = "numpy is not importable (Debian: python3-numpy)"


def agent(**options):
    settings = dict(input_dim=D, num_actions=K, seed=7, learn_every=0, quiet=1)
    settings.update(options)
    return fedcb.Agent(**settings)


def without_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def header_structs():
    """{typedef name: [field, ...]} of the structs of fedcb/agent.h."""
    text = without_comments((INCLUDE_DIR / "fedcb" / "agent.h").read_text())
    structs = {}
    for body, name in re.findall(r"typedef\s+struct\s*\{(.*?)\}\s*(\w+)\s*;", text, flags=re.S):
        fields = []
        for declaration in body.split(";"):
            declaration = declaration.strip()
            if not declaration:
                continue
            if "," in declaration or "[" in declaration or "(" in declaration:
                raise AssertionError("%s: cannot read the declaration '%s'; teach this test" % (name, declaration))
            fields.append(re.search(r"(\w+)$", declaration).group(1))
        structs[name] = fields
    return structs


def ctype_kind(ctype):
    if ctype is ctypes.c_char_p:
        return "p"
    if ctype in (ctypes.c_float, ctypes.c_double):
        return "f"
    if ctype in (ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_uint, ctypes.c_ulong):
        return "u"
    return "i"


STRUCTS = {"fcb_agent_options": fedcb._Options, "fcb_decision": fedcb._Decision, "fcb_agent_stats": fedcb._Stats}


def clean_environment():
    """The environment without the sanitizer runtimes (for the compiler)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


class LayoutTest(unittest.TestCase):
    """The ctypes structs must be the header's, field for field: a field
    added, removed, moved or retyped in C fails here."""

    def test_fields_are_the_headers_in_order(self):
        structs = header_structs()
        for name, struct in STRUCTS.items():
            self.assertIn(name, structs, "fedcb/agent.h has no typedef struct %s" % name)
            self.assertEqual([f for f, _ in struct._fields_], structs[name],
                             "the fields of fedcb.%s differ from those of %s in fedcb/agent.h" % (struct.__name__, name))

    def test_offsets_sizes_and_kinds_match_the_compiler(self):
        cc = os.environ.get("FEDCB_CC", "cc")
        if shutil.which(cc) is None:
            self.fail("no C compiler '%s' for the layout probe (set FEDCB_CC)" % cc)
        lines = ["#include <stddef.h>", "#include <stdio.h>", "#include <string.h>", "#include \"fedcb/fedcb.h\"",
                 "int main(void)", "{"]
        for name, struct in STRUCTS.items():
            lines.append("    {")
            lines.append("        %s s;" % name)
            lines.append("        memset(&s, 0, sizeof s);")
            lines.append('        printf("%s * 0 %%zu -\\n", sizeof(%s));' % (name, name))
            for field, ctype in struct._fields_:
                if ctype_kind(ctype) == "p":
                    kind = "_Generic(s.%s, const char *: 'p', char *: 'p', default: '?')" % field
                else:
                    # A floating field keeps 0.5; a signed one keeps -1 < 0.
                    kind = ("(s.%(f)s = 0.5, s.%(f)s != 0) ? 'f' : (s.%(f)s = -1, s.%(f)s < 0) ? 'i' : 'u'"
                            % {"f": field})
                lines.append('        printf("%s %s %%zu %%zu %%c\\n", offsetof(%s, %s), sizeof s.%s, %s);'
                             % (name, field, name, field, field, kind))
            lines.append("    }")
        lines += ["    return 0;", "}"]
        with tempfile.TemporaryDirectory() as tmp:
            probe = os.path.join(tmp, "probe.c")
            with open(probe, "w") as f:
                f.write("\n".join(lines) + "\n")
            exe = os.path.join(tmp, "probe")
            built = subprocess.run([cc, "-std=c11", "-w", "-I", str(INCLUDE_DIR), probe, "-o", exe],
                                   env=clean_environment(), capture_output=True, text=True)
            self.assertEqual(built.returncode, 0, "the layout probe does not compile:\n" + built.stderr)
            out = subprocess.run([exe], env=clean_environment(), capture_output=True, text=True, check=True).stdout
        compiler = {}
        for line in out.splitlines():
            name, field, offset, size, kind = line.split()
            compiler[(name, field)] = (int(offset), int(size), kind)
        checked = 0
        for name, struct in STRUCTS.items():
            self.assertEqual(compiler[(name, "*")][1], ctypes.sizeof(struct), "sizeof(%s)" % name)
            for field, ctype in struct._fields_:
                descriptor = getattr(struct, field)
                mine = (descriptor.offset, descriptor.size, ctype_kind(ctype))
                self.assertEqual(mine, compiler[(name, field)],
                                 "%s.%s: ctypes (offset, size, kind) %s, the C compiler %s"
                                 % (name, field, mine, compiler[(name, field)]))
                checked += 1
        print("\n   layout: %d fields of %d structs agree with %s" % (checked, len(STRUCTS), cc), file=sys.stderr)

    def test_status_codes_are_the_headers(self):
        text = without_comments((INCLUDE_DIR / "fedcb" / "status.h").read_text())
        body = re.search(r"typedef\s+enum\s*\{(.*?)\}\s*fcb_status\s*;", text, flags=re.S).group(1)
        names = [re.match(r"\s*FCB_(\w+)", item).group(1) for item in body.split(",") if item.strip()]
        self.assertEqual([s.name for s in fedcb.Status], names)
        self.assertEqual([s.value for s in fedcb.Status], list(range(len(names))))


class LibraryTest(unittest.TestCase):
    def test_loaded_from_fedcb_library(self):
        given = os.environ.get("FEDCB_LIBRARY")
        self.assertTrue(given, "FEDCB_LIBRARY is not set: this test runs against a build's libfedcb.so")
        self.assertEqual(fedcb.load(), given)

    def test_version_is_the_headers(self):
        text = (INCLUDE_DIR / "fedcb" / "version.h").read_text()
        expect = re.search(r'#define FCB_VERSION_STRING "([^"]+)"', text).group(1)
        self.assertEqual(fedcb.version(), expect)
        major, minor = (int(p) for p in expect.split(".")[:2])
        self.assertEqual(fedcb.ABI_VERSION, (major, minor))
        self.assertEqual(fedcb.SONAME, "libfedcb.so.%d.%d" % (major, minor))

    def run_python(self, code, **env):
        environment = dict(os.environ)
        environment.update(env)
        return subprocess.run([sys.executable, "-B", "-c", code], env=environment, capture_output=True, text=True)

    def test_fedcb_library_is_final(self):
        """A FEDCB_LIBRARY that does not load is an error, not a fall-back."""
        r = self.run_python("import fedcb; fedcb.version()", FEDCB_LIBRARY="/nonexistent/libfedcb.so")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("OSError: fedcb: cannot load libfedcb from FEDCB_LIBRARY=/nonexistent/libfedcb.so", r.stderr)

    def test_explicit_load_comes_first(self):
        code = "import fedcb, sys; print(fedcb.load(sys.argv[1]), fedcb.version())"
        r = subprocess.run([sys.executable, "-B", "-c", code, os.environ["FEDCB_LIBRARY"]],
                           env=dict(os.environ, FEDCB_LIBRARY="/nonexistent/libfedcb.so"),
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), [os.environ["FEDCB_LIBRARY"], fedcb.version()])
        r = self.run_python("import fedcb; fedcb.load('/nonexistent/x.so')")
        self.assertIn("cannot load libfedcb from /nonexistent/x.so", r.stderr)


class OptionsTest(unittest.TestCase):
    def test_defaults_are_the_c_defaults(self):
        d = fedcb.default_options()
        self.assertEqual(list(d), [f for f, _ in fedcb._Options._fields_])
        self.assertEqual((d["arch"], d["policy"], d["loss"], d["seed"], d["store_path"], d["coordinator"]),
                         ("linear", "softmax", "chosen_squared", 1, None, None))

    def test_unknown_keyword_is_a_type_error_naming_it(self):
        with self.assertRaisesRegex(TypeError, "num_actoins"):
            fedcb.Agent(input_dim=D, num_actoins=K)

    def test_bad_values(self):
        with self.assertRaisesRegex(TypeError, "input_dim"):
            fedcb.Agent(input_dim="5", num_actions=K)
        with self.assertRaisesRegex(TypeError, "policy"):
            fedcb.Agent(input_dim=D, num_actions=K, policy=3)
        with self.assertRaisesRegex(ValueError, "input_dim"):
            fedcb.Agent(input_dim=1 << 31, num_actions=K)
        with self.assertRaisesRegex(ValueError, "seed"):
            fedcb.Agent(input_dim=D, num_actions=K, seed=-1)

    def test_c_refusals_raise_error_with_the_c_message(self):
        with self.assertRaises(fedcb.Error) as caught:
            agent(policy="linucb")
        e = caught.exception
        self.assertEqual((e.status, e.code), ("bad configuration", fedcb.Status.ERR_CONFIG))
        self.assertIn("linucb", e.message)
        self.assertIn("linucb", str(e))
        with self.assertRaises(fedcb.Error) as caught:
            agent(input_dim=0)
        self.assertEqual(caught.exception.code, fedcb.Status.ERR_CONFIG)


class DecideTest(unittest.TestCase):
    N = 20000

    def test_softmax_of_a_fresh_linear_model_is_uniform(self):
        counts = [0] * K
        with agent() as a:
            self.assertEqual((a.input_dim, a.num_actions, a.model_version), (D, K, 0))
            for i in range(self.N):
                d = a.decide([1, 0, 0, 0, 0])
                self.assertIsInstance(d, fedcb.Decision)
                self.assertAlmostEqual(d.propensity, 1.0 / K, delta=1e-6)
                self.assertEqual(d.event_id, i + 1)
                self.assertEqual(d.model_version, 0)
                counts[d.action] += 1
            s = a.stats()
        for k in range(K):
            self.assertLess(abs(counts[k] / self.N - 1.0 / K), 0.015, counts)
        self.assertEqual((s["decisions"], s["feedback"], s["rounds"], s["federated"]), (self.N, 0, 0, False))

    def test_epsilon_greedy_closed_form(self):
        eps = 0.3
        greedy = 0
        with agent(policy="epsilon_greedy", epsilon=eps) as a:
            for _ in range(self.N):
                d = a.decide((1.0, 0.0, 0.0, 0.0, 0.0))
                expect = 1 - eps + eps / K if d.action == 0 else eps / K
                self.assertAlmostEqual(d.propensity, expect, delta=1e-6)
                greedy += d.action == 0
        self.assertLess(abs(greedy / self.N - (1 - eps + eps / K)), 0.015)

    def test_greedy_from_ini(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = pathlib.Path(tmp) / "agent.ini"
            path.write_text("[agent]\ninput_dim = 5\nnum_actions = 3\npolicy = greedy\nquiet = 1\nlearn_every = 0\n")
            with fedcb.Agent.from_ini(path) as a:
                d = a.decide([0.0] * 5)
                self.assertEqual(d.propensity, 1.0)
                self.assertEqual(a.num_actions, 3)

    def check_context_reaches_c(self, a, make):
        """make(values) -> a context; NaN anywhere in it must be refused by
        C (so the pointer and the length are those of the values)."""
        d = a.decide(make([0.5, 0.25, 0.125, 1.0, 2.0]))
        self.assertTrue(0 <= d.action < K)
        for j in range(D):
            values = [0.5] * D
            values[j] = float("nan")
            with self.assertRaises(fedcb.Error) as caught:
                a.decide(make(values))
            self.assertEqual(caught.exception.code, fedcb.Status.ERR_ARG)
        with self.assertRaises(fedcb.Error) as caught:
            a.decide(make([0.5] * (D - 1)))
        self.assertEqual(caught.exception.status, "invalid argument")
        self.assertIn("context of 4 values", caught.exception.message)
        return d

    def test_sequences_and_array_array(self):
        with agent() as a:
            self.check_context_reaches_c(a, list)
            self.check_context_reaches_c(a, tuple)
            self.check_context_reaches_c(a, lambda v: (x for x in v))
            self.check_context_reaches_c(a, lambda v: array.array("f", v))
            self.check_context_reaches_c(a, lambda v: array.array("d", v))
            self.check_context_reaches_c(a, lambda v: memoryview(array.array("f", v).tobytes()).cast("f"))
            with self.assertRaises(TypeError):
                a.decide(["a"] * D)

    def test_array_f_is_not_copied(self):
        context = array.array("f", [0.1] * D)
        pointer, n = fedcb._c_context(context)
        self.assertEqual((ctypes.addressof(pointer), n), (context.buffer_info()[0], D))

    @unittest.skipIf(np is None, NO_NUMPY)
    def test_numpy_float32_and_float64(self):
        with agent() as a:
            self.check_context_reaches_c(a, lambda v: np.array(v, dtype=np.float32))
            self.check_context_reaches_c(a, lambda v: np.array(v, dtype=np.float64))
            self.check_context_reaches_c(a, lambda v: np.array(v, dtype=np.float32).repeat(2)[::2])
            self.check_context_reaches_c(a, lambda v: np.array(v, dtype=">f4"))

            def readonly(v):
                x = np.array(v, dtype=np.float32)
                x.setflags(write=False)
                return x
            self.check_context_reaches_c(a, readonly)
            with self.assertRaisesRegex(ValueError, "1-D"):
                a.decide(np.zeros((1, D), dtype=np.float32))
            with self.assertRaises(TypeError):
                a.decide(np.zeros(D, dtype=np.complex64))

    @unittest.skipIf(np is None, NO_NUMPY)
    def test_numpy_float32_is_not_copied_and_float64_is_converted(self):
        x32 = np.linspace(0, 1, D).astype(np.float32)
        pointer, n = fedcb._c_context(x32)
        self.assertEqual((ctypes.addressof(pointer.contents), n), (x32.ctypes.data, D))
        x64 = np.linspace(0, 1, D)
        pointer, n = fedcb._c_context(x64)
        self.assertNotEqual(ctypes.addressof(pointer.contents), x64.ctypes.data)
        self.assertEqual([pointer[i] for i in range(n)], [float(v) for v in x64.astype(np.float32)])
        strided = np.arange(2 * D, dtype=np.float32)[::2]
        pointer, n = fedcb._c_context(strided)
        self.assertEqual([pointer[i] for i in range(n)], [float(v) for v in strided])

    def test_decide_features(self):
        with agent(input_dim=64) as a:
            d = a.decide_features("user=42 price:0.7")
            self.assertEqual(d.event_id, 1)
            self.assertAlmostEqual(d.propensity, 1.0 / K, delta=1e-6)
            with self.assertRaises(fedcb.Error) as caught:
                a.decide_features("price:abc")
            self.assertIn("price:abc", caught.exception.message)
            with self.assertRaises(ValueError):
                a.decide_features("user=4\x002")


class FeedbackTest(unittest.TestCase):
    def test_refusals(self):
        with agent(pending_capacity=2) as a:
            d1 = a.decide([0.0] * D)
            d2 = a.decide([0.0] * D)
            a.feedback(d2.event_id, 1.0)
            with self.assertRaises(fedcb.Error) as caught:
                a.feedback(d2.event_id, 1.0)
            self.assertEqual(caught.exception.code, fedcb.Status.ERR_ARG)
            self.assertIn("already has feedback", caught.exception.message)
            with self.assertRaises(fedcb.Error) as caught:
                a.feedback(99, 1.0)
            self.assertIn("never issued", caught.exception.message)
            with self.assertRaises(fedcb.Error):
                a.feedback(d1.event_id, float("nan"))
            a.decide([0.0] * D)  # takes event 1's place: it counts as 0
            with self.assertRaises(fedcb.Error) as caught:
                a.feedback(d1.event_id, 1.0)
            self.assertIn("past its feedback window", caught.exception.message)
            with self.assertRaises(ValueError):
                a.feedback(-1, 1.0)
            s = a.stats()
            self.assertEqual((s["decisions"], s["feedback"], s["expired"]), (3, 1, 1))

    def test_error_messages_belong_to_their_thread(self):
        """fcb_last_error is per thread: two threads failing differently at
        once each get their own message."""
        with agent() as a:
            d = a.decide([0.0] * D)
            a.feedback(d.event_id, 1.0)
            wrong = []
            start = threading.Barrier(3)

            def fail(call, text):
                start.wait()
                for _ in range(3000):
                    try:
                        call()
                        wrong.append("no error")
                    except fedcb.Error as e:
                        if text not in e.message:
                            wrong.append(e.message)

            threads = [threading.Thread(target=fail, args=(lambda: a.decide([0.0] * 3), "context of 3 values")),
                       threading.Thread(target=fail, args=(lambda: a.feedback(12345, 1.0), "never issued")),
                       threading.Thread(target=fail, args=(lambda: a.feedback(d.event_id, 1.0), "already has"))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(wrong, [])


def best_action(x):
    return max(range(len(x)), key=lambda j: x[j])


class LearningTest(unittest.TestCase):
    def wait_rounds(self, a, rounds):
        deadline = time.monotonic() + 60
        while a.stats()["rounds"] < rounds:
            if time.monotonic() > deadline:
                self.fail("the learner did not reach %d rounds" % rounds)
            time.sleep(0.005)

    def test_local_learning_raises_reward(self):
        """Same shape as test_local_learning_raises_reward of tests/test_agent.c:
        the user clicks when the action is the context's largest coordinate."""
        rng = random.Random(3)
        blocks, per_block = 30, 200
        with tempfile.TemporaryDirectory() as tmp:
            store = os.path.join(tmp, "learn.db")
            options = dict(learn_every=per_block, learning_rate=0.5, local_epochs=2, store_path=store)
            with agent(**options) as a:
                rewards = []
                for b in range(blocks):
                    clicks = 0
                    for _ in range(per_block):
                        x = [rng.random() for _ in range(D)]
                        d = a.decide(x)
                        r = 1.0 if d.action == best_action(x) else 0.0
                        clicks += r > 0
                        a.feedback(d.event_id, r)
                    self.wait_rounds(a, b + 1)
                    rewards.append(clicks / per_block)
                print("\n   local learning: block 1 reward %.3f, block %d %.3f (uniform %.1f)"
                      % (rewards[0], blocks, rewards[-1], 1.0 / K), file=sys.stderr)
                self.assertLess(rewards[0], 0.3)
                self.assertGreater(rewards[-1], 0.5)
                self.assertEqual(a.model_version, blocks)
                self.assertEqual(a.stats()["rounds"], blocks)

            # The learnt model comes back from the store; greedy on it picks the
            # best action mostly, and every kind of context gives the same action.
            with agent(store_path=store, policy="greedy") as a:
                self.assertEqual(a.model_version, blocks)
                kinds = [list, lambda v: array.array("f", v), lambda v: array.array("d", v)]
                if np is not None:
                    kinds += [lambda v: np.array(v, dtype=np.float32), lambda v: np.array(v, dtype=np.float64)]
                right = 0
                for _ in range(200):
                    x = [rng.random() for _ in range(D)]
                    actions = {a.decide(make(x)).action for make in kinds}
                    self.assertEqual(len(actions), 1, "contexts of different kinds gave different actions")
                    right += actions.pop() == best_action(x)
                self.assertGreater(right / 200, 0.5)


class FederationTest(unittest.TestCase):
    def test_unreachable_coordinator(self):
        """The federation options reach C: a coordinator nobody listens on
        makes a federated agent whose learner gives up, saying why; decide
        goes on with the initial model."""
        a = agent(coordinator="127.0.0.1:1", insecure=True, client_id=3, give_up=0.5)
        self.assertTrue(a.stats()["federated"])
        deadline = time.monotonic() + 30
        while a.stats()["learner_running"]:
            self.assertLess(time.monotonic(), deadline, "the learner did not give up")
            time.sleep(0.02)
        self.assertIn("client 3", a.learner_error)
        self.assertIn("127.0.0.1:1", a.learner_error)
        self.assertEqual(a.decide([0.0] * D).model_version, 0)
        # close reports the learner's error too.
        with self.assertRaises(fedcb.Error) as caught:
            a.close()
        self.assertIn("the learner had stopped", caught.exception.message)
        self.assertTrue(a.closed)


class StoreTest(unittest.TestCase):
    def test_close_reopen_continues_event_ids(self):
        x = [0.1, 0.2, 0.3, 0.4, 0.5]
        with tempfile.TemporaryDirectory() as tmp:
            store = pathlib.Path(tmp) / "resume.db"
            a = agent(store_path=store)
            decisions = [a.decide(x) for _ in range(10)]
            for d in decisions[:5]:
                a.feedback(d.event_id, 1.0)
            a.flush()
            a.close()
            self.assertTrue(a.closed)
            a.close()  # a second close does nothing
            with self.assertRaises(fedcb.Error) as caught:
                a.decide(x)
            self.assertEqual(caught.exception.status, fedcb._library().fcb_status_name(7).decode())
            self.assertEqual(repr(a), "<fedcb.Agent closed>")

            with agent(store_path=str(store)) as a:
                self.assertEqual(a.decide(x).event_id, 11)
                a.feedback(decisions[7].event_id, 1.0)  # pending before the restart
                with self.assertRaises(fedcb.Error) as caught:
                    a.feedback(decisions[2].event_id, 1.0)
                self.assertIn("already has feedback", caught.exception.message)
            with self.assertRaises(fedcb.Error) as caught:
                agent(store_path=store, num_actions=K + 1)
            self.assertIn("num_actions", caught.exception.message)


class IniTest(unittest.TestCase):
    def test_bad_key_names_file_and_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "agent.ini")
            with open(path, "w") as f:
                f.write("[agent]\ninput_dim = 5\nnum_actoins = 3\n")
            with self.assertRaises(fedcb.Error) as caught:
                fedcb.Agent.from_ini(path)
            e = caught.exception
            self.assertEqual(e.code, fedcb.Status.ERR_CONFIG)
            self.assertIn("%s:3: unknown key agent.num_actoins" % path, e.message)
            with open(path, "w") as f:
                f.write("[agent]\ninput_dim = five\n")
            with self.assertRaises(fedcb.Error) as caught:
                fedcb.Agent.from_ini(path)
            self.assertIn(":2: agent.input_dim = 'five' is not a valid number", caught.exception.message)
        with self.assertRaises(fedcb.Error) as caught:
            fedcb.Agent.from_ini("/nonexistent/agent.ini")
        self.assertEqual(caught.exception.code, fedcb.Status.ERR_IO)


class ThreadsTest(unittest.TestCase):
    def test_four_threads_get_distinct_event_ids(self):
        per_thread = 2000
        with agent(policy="epsilon_greedy") as a:
            start = threading.Barrier(4)
            ids = [[] for _ in range(4)]
            failures = []

            def run(mine):
                try:
                    start.wait()
                    for i in range(per_thread):
                        d = a.decide([0.25] * D)
                        mine.append(d.event_id)
                        if i % 2:
                            a.feedback(d.event_id, 1.0)
                except Exception as e:  # reported below
                    failures.append(e)

            threads = [threading.Thread(target=run, args=(ids[t],)) for t in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(failures, [])
            every = [e for mine in ids for e in mine]
            self.assertEqual(sorted(every), list(range(1, 4 * per_thread + 1)))
            for mine in ids:
                self.assertEqual(mine, sorted(mine))
            s = a.stats()
            self.assertEqual((s["decisions"], s["feedback"]), (4 * per_thread, 4 * per_thread // 2))

    def test_close_waits_for_calls_in_progress(self):
        """close while 4 threads decide: each call either decides or raises
        'invalid state'. Wide contexts keep every call in C long enough that
        a close which did not wait for them would free the agent under a
        running decide (in a sanitized build, ASan reports it)."""
        wide = 100000
        a = agent(input_dim=wide, pending_capacity=16)
        context = array.array("f", [0.0]) * wide
        decided = [0] * 4
        outcomes = []
        running = threading.Barrier(5)

        def run(t):
            running.wait()
            try:
                while True:
                    a.decide(context)
                    decided[t] += 1
            except fedcb.Error as e:
                outcomes.append(e.code)
            except Exception as e:  # reported below
                outcomes.append(e)

        threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        running.wait()
        time.sleep(0.05)
        a.close()
        for t in threads:
            t.join()
        self.assertEqual(outcomes, [fedcb.Status.ERR_STATE] * 4)
        self.assertGreater(sum(decided), 0)

    def test_an_agent_dropped_without_close_is_closed(self):
        with tempfile.TemporaryDirectory() as tmp:
            store = os.path.join(tmp, "dropped.db")
            a = agent(store_path=store)
            d = a.decide([0.0] * D)
            self.assertEqual(d.event_id, 1)
            del a  # the finalizer closes it, which flushes the store
            with agent(store_path=store) as b:
                self.assertEqual(b.decide([0.0] * D).event_id, 2)


if __name__ == "__main__":
    if np is None:
        print("fedcb python test: %s: the numpy cases are skipped" % NO_NUMPY, file=sys.stderr)
    else:
        print("fedcb python test: numpy %s" % np.__version__, file=sys.stderr)
    unittest.main(verbosity=2)
