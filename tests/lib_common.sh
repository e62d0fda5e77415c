# shellcheck shell=bash
# Shared helpers for the tests of libfedcb, the library an application links
# (tests/cli_headers.sh, cli_library.sh, cli_install_library.sh). A script
# starts with
#     source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"
#     source "$(dirname "${BASH_SOURCE[0]}")/lib_common.sh"
#     cli_init "$@"
#     lib_init
# and then uses, besides what cli_init sets:
#     BUILD     the CMake build directory of $FEDCB (the top of the build)
#     LIB_SO    $BUILD/libfedcb.so, LIB_A $BUILD/libfedcb.a
#     CC, CXX   the build's C compiler and the C++ compiler of the same family
#     SANITIZE  (array) the flags a program linked with this build's libfedcb
#               needs: -fsanitize=address,undefined in a FEDCB_SANITIZE build
#               (its libfedcb calls the sanitizer runtimes), -fsanitize=thread
#               in a FEDCB_TSAN build, else none
#     PEDANTIC  (array) the warnings an application may build the headers with
#     PEDANTIC_C (array) PEDANTIC and the C-only ones the project's own C is
#               built with (CMakeLists.txt, FEDCB_WARNINGS)
# (Not named cli_*.sh: tests/CMakeLists.txt would run it as a test.)

lib_init() {
    BUILD=$(cd "$(dirname "$FEDCB")" && pwd)
    local cache=$BUILD/CMakeCache.txt
    [[ -f $cache ]] || die "$FEDCB is not at the top of a CMake build directory (no $cache)"
    LIB_SO=$BUILD/libfedcb.so
    LIB_A=$BUILD/libfedcb.a
    [[ -f $LIB_SO && -f $LIB_A ]] || die "libfedcb.so or libfedcb.a is missing in $BUILD (built with the default targets?)"

    CC=$(cache_value CMAKE_C_COMPILER)
    [[ -x $CC ]] || die "the build's C compiler '$CC' (CMAKE_C_COMPILER) is not executable"
    if [[ -z ${CXX:-} ]]; then
        if "$CC" -dM -E -x c /dev/null | grep -q __clang__; then CXX=clang++; else CXX=g++; fi
    fi
    command -v "$CXX" >/dev/null || die "no C++ compiler '$CXX' (install g++: scripts/install-deps.sh g++)"

    SANITIZE=()
    if [[ $(cache_value FEDCB_SANITIZE) =~ ^([Oo][Nn]|[Tt][Rr][Uu][Ee]|[Yy]([Ee][Ss])?|1)$ ]]; then
        # shellcheck disable=SC2054  # one flag, commas and all
        SANITIZE=(-fsanitize=address,undefined)
    elif [[ $(cache_value FEDCB_TSAN) =~ ^([Oo][Nn]|[Tt][Rr][Uu][Ee]|[Yy]([Ee][Ss])?|1)$ ]]; then
        SANITIZE=(-fsanitize=thread)
    fi
    PEDANTIC=(-Wall -Wextra -Werror -pedantic)
    PEDANTIC_C=("${PEDANTIC[@]}" -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wwrite-strings -Wformat-nonliteral)
    command -v nm >/dev/null || die "nm (binutils) is needed"
    command -v readelf >/dev/null || die "readelf (binutils) is needed"
}

# cache_value NAME: the value of NAME in the build's CMakeCache.txt.
cache_value() {
    sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"
}

# exported FILE: the global symbols FILE defines (a shared library: its
# dynamic symbols; an archive or object: its global ones), one a line.
exported() {
    case $1 in
    *.so | *.so.*) nm -D --defined-only "$1" ;;
    *) nm -g --defined-only "$1" ;;
    esac | awk 'NF == 3 {print $3}' | sort -u
}

# imported FILE: the symbols FILE uses and does not define, one a line.
imported() {
    case $1 in
    *.so | *.so.*) nm -D --undefined-only "$1" ;;
    *) nm -g --undefined-only "$1" ;;
    esac | awk 'NF == 2 {print $2}' | sed 's/@.*//' | sort -u
}

# needed FILE: the shared libraries an ELF file names (DT_NEEDED).
needed() {
    readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}

# ---- an installed libfedcb

# install_prefix DIR: cmake --install of the build into DIR, which must then
# hold libfedcb and its package files; sets PREFIX and LIBDIR (PREFIX/lib).
install_prefix() {
    PREFIX=$1
    local libdir
    libdir=$(cache_value CMAKE_INSTALL_LIBDIR)
    [[ -n $libdir && $libdir != /* ]] || die "CMAKE_INSTALL_LIBDIR '$libdir' is not relative to the prefix"
    LIBDIR=$PREFIX/$libdir
    cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.$(basename "$PREFIX").log" 2>&1 ||
        { cat "$WORK/install.$(basename "$PREFIX").log" >&2; die "cmake --install $BUILD --prefix $PREFIX failed"; }
    [[ -f $LIBDIR/pkgconfig/fedcb.pc ]] || die "cmake --install did not install $LIBDIR/pkgconfig/fedcb.pc"
}

# prefix_pkg_config ARGS...: pkg-config that finds the fedcb.pc of PREFIX first.
prefix_pkg_config() {
    PKG_CONFIG_PATH=$LIBDIR/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH} pkg-config "$@"
}

# build_against_prefix [--static] SRC [COMPILER-ARGS...]: compiles and links
# the C (.c) or C++ (.cc, .cpp) program SRC against the libfedcb in PREFIX
# with only what `pkg-config --cflags --libs fedcb` says (plus SANITIZE and
# PEDANTIC_C or PEDANTIC), as the C99 or C++11 an application may use.
# --static links libfedcb.a instead, with `pkg-config --static`. The program
# is $WORK/bin/NAME (NAME: SRC's name without its extension, -static added),
# left in BUILT.
build_against_prefix() {
    local static=() first_dir=()
    if [[ $1 == --static ]]; then
        static=(--static)
        # The linker takes libfedcb.so over libfedcb.a in one directory: this
        # one, searched first, holds only the archive.
        mkdir -p "$WORK/static-only"
        ln -sf "$LIBDIR/libfedcb.a" "$WORK/static-only/libfedcb.a"
        first_dir=(-L"$WORK/static-only")
        shift
    fi
    local src=$1
    shift
    local name compiler std flags warnings
    name=$(basename "${src%.*}")${static:+-static}
    case $src in
    *.c) compiler=$CC std=-std=c99 warnings=("${PEDANTIC_C[@]}") ;;
    *.cc | *.cpp) compiler=$CXX std=-std=c++11 warnings=("${PEDANTIC[@]}") ;;
    *) die "build_against_prefix: $src is neither C nor C++" ;;
    esac
    flags=$(prefix_pkg_config "${static[@]}" --cflags --libs fedcb) ||
        die "pkg-config ${static[*]} --cflags --libs fedcb failed (PKG_CONFIG_PATH=$LIBDIR/pkgconfig)"
    mkdir -p "$WORK/bin"
    BUILT=$WORK/bin/$name
    # shellcheck disable=SC2086  # pkg-config prints several words
    "$compiler" "$std" "${warnings[@]}" "${SANITIZE[@]}" "$src" "$@" "${first_dir[@]}" $flags -o "$BUILT" \
        2>"$WORK/$name.build.log" ||
        { cat "$WORK/$name.build.log" >&2; die "$src does not build against $PREFIX: $(basename "$compiler") $std $flags $*"; }
}

# run_against_prefix PROGRAM ARGS...: runs PROGRAM with the libraries of
# PREFIX first in the search path.
run_against_prefix() {
    LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$@"
}

# cmake_against_prefix SOURCE BINARY [CMAKE-ARGS...]: configures and builds
# the CMake project SOURCE in BINARY, finding packages in PREFIX only (and
# linking with SANITIZE). Configure output in BINARY.log; returns cmake's
# status (the caller decides whether failing is right).
cmake_against_prefix() {
    local src=$1 bin=$2
    shift 2
    cmake -S "$src" -B "$bin" -DCMAKE_C_COMPILER="$CC" -DCMAKE_PREFIX_PATH="$PREFIX" \
        -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
        -DCMAKE_EXE_LINKER_FLAGS="${SANITIZE[*]}" "$@" >"$bin.log" 2>&1 &&
        cmake --build "$bin" >>"$bin.log" 2>&1
}
