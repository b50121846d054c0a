/* The real glibc malloc, driven by a list of calls on stdin, for memlab's
 * tests and lesson 06: each line is one call,
 *   m SIZE          p[k] = malloc(SIZE)        (k counts the calls that return a pointer)
 *   c N SIZE        p[k] = calloc(N, SIZE)
 *   r K SIZE        p[k] = realloc(p[K], SIZE)
 *   f K             free(p[K])
 *   o PARAM VALUE   mallopt(PARAM, VALUE)
 * and prints, for every pointer returned, "K heap OFFSET USABLE" (OFFSET from
 * the program break at start) or "K mmap - USABLE", then mallinfo2() and the
 * program break. stdin and stdout get static buffers so that stdio itself
 * takes nothing from the heap. Build: gcc -O0 -o malloc_trace malloc_trace.c */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_PTRS 100000
static void *p[MAX_PTRS];
static char inbuf[1 << 16], outbuf[1 << 16];

static void report(int k, char *base, char *brk_now)
{
    if (p[k] == NULL)
        printf("%d null\n", k);
    else if ((char *) p[k] >= base && (char *) p[k] < brk_now)
        printf("%d heap %ld %zu\n", k, (long) ((char *) p[k] - base), malloc_usable_size(p[k]));
    else
        printf("%d mmap - %zu\n", k, malloc_usable_size(p[k]));
}

int main(void)
{
    setvbuf(stdin, inbuf, _IOFBF, sizeof inbuf);
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    char *base = sbrk(0);
    int k = 0;
    char op;
    while (scanf(" %c", &op) == 1 && k < MAX_PTRS) {
        long a = 0, b = 0;
        if (op == 'm' && scanf("%ld", &a) == 1) {
            p[k] = malloc((size_t) a);
            report(k++, base, sbrk(0));
        } else if (op == 'c' && scanf("%ld %ld", &a, &b) == 2) {
            p[k] = calloc((size_t) a, (size_t) b);
            report(k++, base, sbrk(0));
        } else if (op == 'r' && scanf("%ld %ld", &a, &b) == 2) {
            p[k] = realloc(p[a], (size_t) b);
            p[a] = NULL;
            report(k++, base, sbrk(0));
        } else if (op == 'f' && scanf("%ld", &a) == 1) {
            free(p[a]);
            p[a] = NULL;
        } else if (op == 'o' && scanf("%ld %ld", &a, &b) == 2) {
            printf("mallopt %d\n", mallopt((int) a, (int) b));
        }
    }
    struct mallinfo2 mi = mallinfo2();
    printf("mallinfo2 %zu %zu %zu %zu %zu %zu %zu %zu %zu\n", mi.arena, mi.ordblks, mi.smblks, mi.hblks, mi.hblkhd,
           mi.fsmblks, mi.uordblks, mi.fordblks, mi.keepcost);
    printf("brk %ld\n", (long) ((char *) sbrk(0) - base));
    return 0;
}
