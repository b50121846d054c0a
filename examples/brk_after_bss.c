/* Print /proc/self/maps after growing the heap with sbrk(), for a program
 * whose BSS is larger than its data page: the BSS gets an anonymous VMA of
 * its own and the heap another, named [heap]; brk() never extends the BSS
 * VMA (Linux 6.1 and later). Used by tests/test_mm.py; run it without
 * address randomisation so the heap starts right after the BSS:
 *   gcc -O0 -o brk_after_bss brk_after_bss.c && setarch x86_64 -R ./brk_after_bss
 */
#include <stdio.h>
#include <unistd.h>

static char big[5 * 4096];      /* BSS beyond the data page */

int main(void)
{
	char line[512];
	FILE *f;

	big[0] = 1;
	sbrk(3 * 4096);
	f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof line, f))
		fputs(line, stdout);
	return 0;
}
