// Pitfall: a pointer that was never set (a wild pointer) is dereferenced.
#include <cstdio>

int main()
{
    int *p;  // never set: whatever the stack held
    *p = 42;
    std::printf("%d\n", *p);
    return 0;
}
