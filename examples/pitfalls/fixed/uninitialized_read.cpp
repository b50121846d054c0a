// Fixed: calloc clears the array (or write every element before reading it).
#include <cstdio>
#include <cstdlib>

int main()
{
    int *a = static_cast<int *>(std::calloc(4, sizeof(int)));
    a[0] = 1;
    if (a[2] > 0)  // 0: calloc cleared it
        std::puts("positive");
    std::free(a);
    return 0;
}
