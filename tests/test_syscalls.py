"""read() and write() on simulated files (issue 10): the kernel's copies
between the page cache and a user buffer, short counts and EFAULT exactly
as the host's kernel returns them (examples/short_copy.c)."""

import subprocess

import pytest

from memlab import Machine, MemlabError, native
from memlab.errors import SyscallError
from memlab.mm import MAP_SHARED


def model_short_copy():
    """examples/short_copy.c's calls on a simulated process, in its words."""
    m = Machine(ram="256MiB")
    p = m.spawn("short_copy")
    buf = p.mmap(length=2 * 4096)
    p.munmap(buf + 4096, 4096)  # the second page is gone
    data = p.mmap(length=3 * 4096)
    p.write(data, bytes(ord("a") + i % 26 for i in range(3 * 4096)))
    fd = p.sys.open(m.create_file("/tmp/memlab-short-copy", 0))
    out = []

    def show(what, call, *args):
        try:
            out.append(f"{what} {call(*args)}")
        except SyscallError as err:
            out.append(f"{what} -1 {err.errno}")

    show("write(fd, data, 12288) =", p.sys.write, fd, data, 12288)
    p.sys.lseek(fd, 0)
    show("read(fd, end - 100, 1000) =", p.sys.read, fd, buf + 4096 - 100, 1000)
    show("read(fd, hole, 10) =", p.sys.read, fd, buf + 4096, 10)
    show("read(fd, kernel address, 10) =", p.sys.read, fd, 0xFFFF888000000000, 10)
    out.append(f"file position {p.sys.lseek(fd, 0, 1)}")
    p.sys.lseek(fd, 5000)
    show("write(fd, end - 100, 1000) =", p.sys.write, fd, buf + 4096 - 100, 1000)
    show("write(fd, hole, 10) =", p.sys.write, fd, buf + 4096, 10)
    out.append(f"file position {p.sys.lseek(fd, 0, 1)}")
    return "\n".join(out) + "\n"


def test_short_counts_and_efault_match_the_host(tmp_path):
    exe = native.build("short_copy.c")
    if exe is None:
        pytest.skip("no gcc here")
    real = subprocess.run([str(exe), str(tmp_path / "f")], capture_output=True, text=True, check=True).stdout
    assert model_short_copy() == real
    assert "read(fd, end - 100, 1000) = 100" in real  # (what the comparison is about)


def test_read_sees_the_file_and_writes_are_shared_with_mappings():
    m = Machine(ram="256MiB")
    p = m.spawn("reader")
    f = m.create_file("/data", 0)
    f.data, f.size = b"hello, page cache" + bytes(5000), 5017
    fd = p.sys.open(f)
    buf = p.mmap(length=8192)
    assert p.sys.read(fd, buf, 100) == 100 and p.read(buf, 17) == b"hello, page cache"
    assert p.sys.read(fd, buf, 10_000) == 5017 - 100  # up to the end of the file
    assert p.sys.read(fd, buf, 10) == 0  # at the end: 0, whatever the buffer
    view = p.mmap(length=8192, flags=MAP_SHARED, file=f)  # the same page-cache frame
    p.sys.lseek(fd, 7)
    p.write(buf, b"memlab")
    assert p.sys.write(fd, buf, 6) == 6 and p.read(view, 13) == b"hello, memlab"
    assert f.dirty == {0} and f.size == 5017
    p.sys.lseek(fd, 0, 2)
    assert p.sys.write(fd, buf, 6) == 6 and f.size == 5023  # a write at the end grows the file


@pytest.mark.parametrize(
    ("call", "errno"),
    [
        (lambda p, fd: p.sys.read(99, 0x1000, 1), "EBADF"),
        (lambda p, fd: p.sys.lseek(fd, -1), "EINVAL"),
        (lambda p, fd: p.sys.write(fd, 0x10, 4), "EFAULT"),  # nothing mapped there
    ],
)
def test_bad_calls_name_their_errno_and_change_nothing(call, errno):
    m = Machine(ram="256MiB")
    p = m.spawn("bad")
    f = m.create_file("/f", 0)
    fd = p.sys.open(f)
    with pytest.raises(SyscallError) as err:
        call(p, fd)
    assert err.value.errno == errno and f.size == 0 and p.sys.fds[fd].pos == 0
    with pytest.raises(MemlabError):
        p.sys.open("not a file")
