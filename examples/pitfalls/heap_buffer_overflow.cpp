// Pitfall: writing one element past the end of a heap array.
#include <cstdlib>

int main()
{
    int *a = static_cast<int *>(std::malloc(10 * sizeof(int)));
    for (int i = 0; i <= 10; i++)  // <= : eleven writes into ten ints
        a[i] = i;
    std::free(a);
    return 0;
}
