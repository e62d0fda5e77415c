#!/usr/bin/env bash
# The Python module client/python/fedcb.py (ctypes over libfedcb.so) with
# this build's libfedcb.so:
#   - tests/python/test_agent.py (unittest), FEDCB_LIBRARY naming the
#     build's libfedcb.so and FEDCB_CC its C compiler (the struct layout
#     probe); its numpy cases are skipped, and say so, without numpy;
#   - the module as cmake --install puts it (FEDCB_PYTHON_DIR of
#     client/CMakeLists.txt), imported from there with no FEDCB_LIBRARY: it
#     finds libfedcb.so.MAJOR.MINOR in the prefix's lib/ beside it.
# Python: $FEDCB_PYTHON if set, else Debian's /usr/bin/python3 (python3 and
# python3-numpy are what scripts/test.sh installs), else python3 on PATH.
# The libfedcb.so of a FEDCB_SANITIZE build needs the ASan and UBSan
# runtimes first in the process: python runs with them in LD_PRELOAD, and
# without leak detection (python does not free everything at exit).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_common.sh"
cli_init "$@"

BUILD=$(cd "$(dirname "$FEDCB")" && pwd)
[[ -f $BUILD/CMakeCache.txt ]] || die "$FEDCB is not at the top of a CMake build directory"
LIB_SO=$BUILD/libfedcb.so
[[ -f $LIB_SO ]] || die "$LIB_SO is missing (cmake --build $BUILD --target fedcb_shared)"
CC=$(cache_value CMAKE_C_COMPILER)
[[ -x $CC ]] || die "the build's C compiler '$CC' (CMAKE_C_COMPILER) is not executable"

if [[ -n ${FEDCB_PYTHON:-} ]]; then
    PYTHON=$FEDCB_PYTHON
elif [[ -x /usr/bin/python3 ]]; then
    PYTHON=/usr/bin/python3
else
    PYTHON=$(command -v python3) || die "no python3 (scripts/install-deps.sh python3 python3-numpy)"
fi
say "python: $PYTHON $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"

# The sanitizer runtimes libfedcb.so needs, ASan first.
PRELOAD=""
for runtime in libasan libubsan; do
    path=$(ldd "$LIB_SO" | sed -n "s/^[[:space:]]*$runtime\\.so[^ ]* => \\([^ ]*\\) .*/\\1/p")
    [[ -z $path ]] || PRELOAD="$PRELOAD${PRELOAD:+ }$path"
done
if [[ $(cache_value FEDCB_SANITIZE) =~ ^([Oo][Nn]|[Tt][Rr][Uu][Ee]|[Yy]([Ee][Ss])?|1)$ ]]; then
    [[ $PRELOAD == *libasan* ]] ||
        die "a FEDCB_SANITIZE build, but $LIB_SO names no libasan runtime this test could preload (ldd: $(ldd "$LIB_SO" | tr '\n' ' '))"
    say "sanitized build: LD_PRELOAD=$PRELOAD"
else
    [[ -z $PRELOAD ]] || die "FEDCB_SANITIZE is off, yet $LIB_SO needs $PRELOAD"
fi
export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"
export PYTHONDONTWRITEBYTECODE=1

# run_python NAME [-u VAR | VAR=VALUE]... ARGS...: python ARGS (in $WORK, with
# the sanitizer runtimes and the environment changes given, as env(1) takes
# them); stdout to $WORK/NAME.out, stderr to $WORK/NAME.err, the status to RC.
run_python() {
    local name=$1
    shift
    local changes=()
    while [[ $# -gt 0 && ($1 == -u || $1 == *=*) ]]; do
        if [[ $1 == -u ]]; then
            changes+=("$1" "$2")
            shift 2
        else
            changes+=("$1")
            shift
        fi
    done
    RUN_OUT=$WORK/$name.out
    RUN_ERR=$WORK/$name.err
    RC=0
    (cd "$WORK" && env "${changes[@]}" LD_PRELOAD="$PRELOAD" "$PYTHON" "$@") >"$RUN_OUT" 2>"$RUN_ERR" || RC=$?
}

say "tests/python/test_agent.py against $LIB_SO"
run_python unittest FEDCB_LIBRARY="$LIB_SO" FEDCB_CC="$CC" PYTHONPATH="$SOURCE_DIR/client/python" \
    "$SOURCE_DIR/tests/python/test_agent.py"
sed 's/^/   /' "$RUN_ERR"
check_no_sanitizer_report python tests/python/test_agent.py
[[ $RC -eq 0 ]] || die "tests/python/test_agent.py exited with status $RC"
grep -q '^OK' "$RUN_ERR" || die "tests/python/test_agent.py did not end with OK"
if grep -q 'numpy is not importable' "$RUN_ERR"; then
    say "numpy is not importable by $PYTHON: the numpy cases were skipped (install python3-numpy)"
fi

say "cmake --install of client/ (fedcb.py) into a scratch prefix"
prefix=$WORK/prefix
python_dir=$(cache_value FEDCB_PYTHON_DIR)
[[ -n $python_dir ]] || die "no FEDCB_PYTHON_DIR in $BUILD/CMakeCache.txt (client/CMakeLists.txt)"
[[ $python_dir != /* ]] || die "FEDCB_PYTHON_DIR '$python_dir' is absolute: this check installs into a scratch prefix"
cmake -DCMAKE_INSTALL_PREFIX="$prefix" -P "$BUILD/client/cmake_install.cmake" >"$WORK/install.log" 2>&1 ||
    { cat "$WORK/install.log" >&2; die "installing client/ failed"; }
module=$prefix/$python_dir/fedcb.py
cmp -s "$SOURCE_DIR/client/python/fedcb.py" "$module" || die "$module is missing or differs from client/python/fedcb.py"
if [[ $PYTHON == /usr/bin/python3 && $python_dir == lib/python3/dist-packages ]]; then
    run_python syspath -c 'import sys; print("\n".join(sys.path))'
    grep -qx /usr/lib/python3/dist-packages "$RUN_OUT" ||
        die "Debian's python3 does not search /usr/lib/python3/dist-packages: $(tr '\n' ' ' <"$RUN_OUT")"
    say "   /usr/bin/python3 searches /usr/lib/python3/dist-packages: an install into /usr needs no PYTHONPATH"
fi

libdir=$(cache_value CMAKE_INSTALL_LIBDIR)
if [[ $libdir == lib ]]; then
    # What include/'s install puts in the prefix: libfedcb.so* in lib/.
    cp -P "$BUILD"/libfedcb.so* "$prefix/lib/"
    soname=$(readelf -d "$LIB_SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
    run_python installed -u FEDCB_LIBRARY -u LD_LIBRARY_PATH PYTHONPATH="$prefix/$python_dir" \
        -c 'import fedcb; print(fedcb.__file__); print(fedcb.load()); print(fedcb.version())'
    check_no_sanitizer_report python -c 'import fedcb'
    [[ $RC -eq 0 ]] || { cat "$RUN_ERR" >&2; die "the installed module does not load the prefix's library"; }
    mapfile -t got <"$RUN_OUT"
    [[ ${got[0]} == "$module" ]] || die "python imported ${got[0]}, not $module"
    [[ ${got[1]} == "$prefix/lib/$soname" ]] || die "the installed module loaded ${got[1]}, not $prefix/lib/$soname"
    say "   the installed module loads $prefix/lib/$soname (version ${got[2]}) with no FEDCB_LIBRARY"
else
    say "   CMAKE_INSTALL_LIBDIR is $libdir, not lib: the library-beside-the-module lookup is not checked"
fi
say "all python checks passed"
