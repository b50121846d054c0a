// Pitfall: using a value that was never written (malloc does not clear memory).
#include <cstdio>
#include <cstdlib>

int main()
{
    int *a = static_cast<int *>(std::malloc(4 * sizeof(int)));
    a[0] = 1;
    if (a[2] > 0)  // a[2] was never written: the branch depends on garbage
        std::puts("positive");
    std::free(a);
    return 0;
}
