"""Writing a file whole or not at all: the converter's side of formats/atomic_file.h,
with the same rules and messages.

- The destination is checked before any work: an existing directory, or anything that
  exists and is not a regular file (a device such as /dev/null, a FIFO), is refused;
  so is a place where no file can be created, found by creating the temporary file.
- The data goes to a hidden temporary file in the destination's directory
  (".NAME.tmp.PID.N"), renamed over the destination once complete; on any failure it
  is removed, so nothing is left behind.
- Every error is an OSError naming the path, with the system's reason.
"""
from __future__ import annotations

import contextlib
import errno
import itertools
import os
import stat

_counter = itertools.count()

_TYPES = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket", stat.S_IFLNK: "a symbolic link"}


def check_destination(path: str) -> None:
    if not path:
        raise OSError(errno.EINVAL, "the output file name is empty")
    if path.endswith("/"):
        raise IsADirectoryError(f"cannot write '{path}': it names a directory")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"cannot write '{path}': it is a directory")
    if not stat.S_ISREG(st.st_mode):
        kind = _TYPES.get(stat.S_IFMT(st.st_mode), "not a file")
        raise OSError(f"cannot write '{path}': it exists and is not a regular file (it is {kind}), "
                      "which a new file would replace")


@contextlib.contextmanager
def atomic_output(path: str):
    """`with atomic_output(path) as f: f.write(...)`: the file appears at `path` when the
    block ends without an exception, and nothing is left when it raises."""
    check_destination(path)
    directory = os.path.dirname(path) or "."
    stem = os.path.join(directory, f".{os.path.basename(path)}.tmp.{os.getpid()}.")
    while True:
        temp = stem + str(next(_counter))
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as e:
            raise OSError(f"cannot write '{path}': cannot create a file in '{directory}': {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            try:
                yield f
                f.flush()
            except OSError as e:
                if e.strerror is None:
                    raise
                raise OSError(f"writing '{path}' failed: {e.strerror}") from e
        check_destination(path)  # it may have changed meanwhile
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise
