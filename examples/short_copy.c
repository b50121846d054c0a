/* read() and write() with a user buffer that runs into an unmapped page:
 * the kernel copies up to the bad page and returns that count; with no byte
 * copyable it returns -1 and errno EFAULT. memlab's tests compare its
 * p.sys.read/p.sys.write with what this prints. Build: gcc -o short_copy short_copy.c */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s -1 %s\n", what, errno == EFAULT ? "EFAULT" : strerror(errno));
    else
        printf("%s %ld\n", what, r);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/memlab-short-copy";
    long page = sysconf(_SC_PAGESIZE);
    char *buf = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(buf + page, page); /* the second page is gone: a hole after the buffer */
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    static char data[3 * 4096];
    for (int i = 0; i < (int) sizeof data; i++)
        data[i] = (char) ('a' + i % 26);
    show("write(fd, data, 12288) =", write(fd, data, sizeof data));
    lseek(fd, 0, SEEK_SET);
    show("read(fd, end - 100, 1000) =", read(fd, buf + page - 100, 1000));
    show("read(fd, hole, 10) =", read(fd, buf + page, 10));
    show("read(fd, kernel address, 10) =", read(fd, (char *) 0xffff888000000000UL, 10));
    printf("file position %ld\n", (long) lseek(fd, 0, SEEK_CUR));
    lseek(fd, 5000, SEEK_SET);
    show("write(fd, end - 100, 1000) =", write(fd, buf + page - 100, 1000));
    show("write(fd, hole, 10) =", write(fd, buf + page, 10));
    printf("file position %ld\n", (long) lseek(fd, 0, SEEK_CUR));
    close(fd);
    unlink(path);
    return 0;
}
