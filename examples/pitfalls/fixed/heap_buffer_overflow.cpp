// Fixed: the loop stops at the last element (i < 10).
#include <cstdlib>

int main()
{
    int *a = static_cast<int *>(std::malloc(10 * sizeof(int)));
    for (int i = 0; i < 10; i++)
        a[i] = i;
    std::free(a);
    return 0;
}
