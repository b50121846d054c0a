/* What SIGSEGV tells a program that touches a kernel address, a non-canonical
 * address and NULL + 0x10: si_code and si_addr, one line each.
 * Used by tests/test_mm.py to check memlab's SegmentationFault against the host.
 *   gcc -O0 -o segv_si_code segv_si_code.c && ./segv_si_code
 * Expected on x86-64 Linux: si_code=1 (SEGV_MAPERR) with the address for the
 * kernel address and for NULL + 0x10; si_code=128 (SI_KERNEL) with si_addr 0
 * for the non-canonical one (a #GP, not a page fault). */
#include <signal.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
static sigjmp_buf env;
static void handler(int sig, siginfo_t *info, void *ctx) {
    printf("si_code=%d si_addr=%p\n", info->si_code, info->si_addr);
    siglongjmp(env, 1);
}
int main(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    volatile char *addrs[] = {(char *)0xffff888000001000UL, (char *)0x0000800000000000UL, (char *)0x10UL};
    for (int i = 0; i < 3; i++) {
        if (!sigsetjmp(env, 1)) { char c = *addrs[i]; (void)c; }
    }
    return 0;
}
